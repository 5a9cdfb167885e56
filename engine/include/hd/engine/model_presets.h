#pragma once
// Named model shapes for tests, benchmarks and `hyenadesk mkmodel`.
#include <string>
#include <vector>

#include "hd/engine/model_config.h"

namespace hd {

// "7b": StripedHyena-7B exactly (config.json of the HF repos).
// "100m": the 7B pattern at about 100M parameters (CPU benchmark size).
// "tiny": the 7B pattern shrunk (alternating Hyena/attention, GQA, state_size 2, column split).
// "tiny-32k": "tiny" with StripedHyena's 32000-token vocabulary, to pair with its tokenizer.
// "tiny-mix": three Hyena blocks and one attention block, state_size 4, untied embeddings.
ModelConfig preset_config(const std::string& name);
std::vector<std::string> preset_names();

}  // namespace hd
