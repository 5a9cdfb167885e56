#pragma once
// Writes a random-weight checkpoint in the exact HF layout (config.json, sharded
// safetensors with model.safetensors.index.json, optional tokenizer.json): what tests and
// benchmarks load, since no trained weights can be downloaded here. Deterministic per seed.
#include <cstdint>
#include <filesystem>

#include "hd/engine/dtype.h"
#include "hd/engine/model_config.h"

namespace hd {

struct RandomCheckpointOptions {
  std::uint64_t seed = 0;
  DType dtype = DType::bf16;                 // every tensor but poles/residues (always float32)
  std::uint64_t max_shard_bytes = 2ull << 30;
  bool hf_prefix = true;                     // names as the HF wrapper saves them ("backbone.")
  std::filesystem::path tokenizer_json;      // copied in when not empty
};

void write_random_checkpoint(const ModelConfig& config, const std::filesystem::path& dir,
                             const RandomCheckpointOptions& options);

}  // namespace hd
