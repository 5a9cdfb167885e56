#pragma once
// Human-readable numbers for the CLI and the UI.
#include <cstdint>
#include <string>

namespace hd {

std::string format_bytes(std::uint64_t bytes);   // "1.50 GiB"
std::string format_count(std::int64_t n);        // "7.61 B", "103.2 M", "4,096"
// Text for one line of output: control characters (a newline in a file name) written as \n, \t or
// \xNN, so one entry always prints as one line and cannot move the cursor.
std::string printable(const std::string& text);

}  // namespace hd
