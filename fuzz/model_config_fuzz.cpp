// config.json of a model folder: any JSON (or not JSON) must be accepted as a valid config or
// refused with a message, never produce a config the engine would index out of range with.
#include <nlohmann/json.hpp>

#include <stdexcept>

#include "hd/engine/model_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const nlohmann::json j = nlohmann::json::parse(data, data + size, nullptr, false);
  if (j.is_discarded()) return 0;
  try {
    (void)hd::ModelConfig::from_json(j, "fuzz/config.json");
  } catch (const std::runtime_error&) {
  } catch (const nlohmann::json::exception&) {
  }
  return 0;
}
