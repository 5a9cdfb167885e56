#pragma once
// What the harnesses share: fuzz input written to a file the parser under test opens by path,
// as the program does (readers and model loaders take paths, not buffers).
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace hd::fuzz {

// One file per process, rewritten for each input (the harnesses run one input at a time).
inline std::filesystem::path write_input(const uint8_t* data, size_t size, const std::string& name) {
  static const std::filesystem::path dir = [] {
    auto d = std::filesystem::temp_directory_path() / ("hd-fuzz-" + std::to_string(getpid()));
    std::filesystem::create_directories(d);
    return d;
  }();
  const auto path = dir / name;
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(reinterpret_cast<const char*>(data),
                                                                static_cast<std::streamsize>(size));
  return path;
}

}  // namespace hd::fuzz
