#include "bench_args.h"

namespace hd::bench {

std::string arg_text(int argc, char** argv, const std::string& flag, const std::string& fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (flag == argv[i]) return argv[i + 1];
  }
  return fallback;
}

int arg_int(int argc, char** argv, const std::string& flag, int fallback) {
  return std::stoi(arg_text(argc, argv, flag, std::to_string(fallback)));
}

}  // namespace hd::bench
