#pragma once
// The all-MiniLM-L6-v2 folder for tests: $HD_EMBEDDER_DIR, else where scripts/setup installs it.
// The model is part of the product, so a test that needs it fails (never skips) without it.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

namespace hd::test {

inline std::filesystem::path embedder_dir() {
  const char* dir = std::getenv("HD_EMBEDDER_DIR");
  return dir && *dir ? std::filesystem::path(dir) : std::filesystem::path(HD_EMBEDDER_DIR_DEFAULT);
}

}  // namespace hd::test

#define HD_REQUIRE_EMBEDDER()                                                                          \
  do {                                                                                                 \
    if (!std::filesystem::exists(::hd::test::embedder_dir() / "model.safetensors")) {                 \
      FAIL() << "no embedding model in " << ::hd::test::embedder_dir() << ": run scripts/setup";       \
    }                                                                                                  \
  } while (0)
