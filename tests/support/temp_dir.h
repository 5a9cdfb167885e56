#pragma once
// Test helpers: a fresh temporary folder removed afterwards, and the CUDA-device skip.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "hd/kernels/device.h"

namespace hd::test {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

// Writes `bytes` to `path`, replacing it.
void write_file(const std::filesystem::path& path, const std::string& bytes);
std::string read_file(const std::filesystem::path& path);

}  // namespace hd::test

// In a test that needs a GPU: skip, with the reason, where none is usable.
#define HD_REQUIRE_CUDA_DEVICE()                                                     \
  do {                                                                               \
    ::hd::DeviceInfo hd_dev_ = ::hd::query_device(0);                                \
    if (!hd_dev_.available) GTEST_SKIP() << "skipped: no CUDA device (" << hd_dev_.reason << ")"; \
  } while (0)
