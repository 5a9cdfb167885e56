// tokenizer.json (Hugging Face) converted to SentencePiece's model: a malformed file must be
// refused with a message, never crash the conversion.
#include <nlohmann/json.hpp>

#include <stdexcept>
#include <string>

#include "hd/engine/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    (void)hd::sentencepiece_proto_from_hf_json(std::string(reinterpret_cast<const char*>(data), size), "fuzz/tokenizer.json");
  } catch (const std::runtime_error&) {
  } catch (const nlohmann::json::exception&) {
  }
  return 0;
}
