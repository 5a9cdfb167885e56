#pragma once
// Writing a file so that readers see the old version or the new one, never a torn mix:
// write a temporary file beside it, flush and fsync it, then rename it over the target.
#include <filesystem>
#include <functional>
#include <ostream>

namespace hd {

// `write` fills the stream; errors (cannot create, disk full) throw std::runtime_error
// naming the file, and leave the target untouched.
void write_file_atomically(const std::filesystem::path& path, const std::function<void(std::ostream&)>& write);

}  // namespace hd
