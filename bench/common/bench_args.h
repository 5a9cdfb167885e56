#pragma once
// Command-line options of the benchmark programs: "--flag value" pairs, with defaults.
#include <string>

namespace hd::bench {

std::string arg_text(int argc, char** argv, const std::string& flag, const std::string& fallback);
int arg_int(int argc, char** argv, const std::string& flag, int fallback);

}  // namespace hd::bench
