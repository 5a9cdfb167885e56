#pragma once
// Language models scripts/setup installs (`--models test` installs SmolLM2-135M-Instruct, the
// small real model the suite uses): $HD_MODELS_DIR, else the models folder setup writes to. They
// are part of the product, so a test that needs one fails (never skips) without it.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

namespace hd::test {

inline std::filesystem::path models_dir() {
  const char* dir = std::getenv("HD_MODELS_DIR");
  return dir && *dir ? std::filesystem::path(dir) : std::filesystem::path(HD_MODELS_DIR_DEFAULT);
}

inline std::filesystem::path smollm2_dir() { return models_dir() / "smollm2-135m-instruct"; }

}  // namespace hd::test

#define HD_REQUIRE_SMOLLM2()                                                                             \
  do {                                                                                                  \
    if (!std::filesystem::exists(::hd::test::smollm2_dir() / "model.safetensors")) {                    \
      FAIL() << "SmolLM2-135M-Instruct is not installed in " << ::hd::test::smollm2_dir()               \
             << ": run scripts/setup --models test";                                                    \
    }                                                                                                   \
  } while (0)
