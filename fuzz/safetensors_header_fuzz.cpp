// The safetensors header (an 8-byte length, then JSON naming dtype, shape and offsets of every
// tensor): a malformed or lying header must be refused, never read past the file.
#include <stdexcept>

#include "fuzz_support.h"
#include "hd/engine/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = hd::fuzz::write_input(data, size, "model.safetensors");
  try {
    auto file = hd::SafetensorsFile::open(path);
    for (const auto& [name, tensor] : file->tensors()) {
      if (tensor.nbytes <= (1u << 20)) (void)tensor.to_floats();  // reads every byte the header claims
    }
  } catch (const std::runtime_error&) {
  }
  return 0;
}
