#pragma once
// StripedHyena model configuration, read from the HF `config.json` that ships with
// StripedHyena-Hessian-7B / -Nous-7B (and any other size or layer pattern).
#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace hd {

// A config that cannot describe a model we can run; the message names the file and key.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class BlockKind { attention, hyena };
enum class MlpActivation { silu, gelu };

struct ModelConfig {
  int vocab_size = 0;
  int hidden_size = 0;
  int num_layers = 0;
  std::vector<BlockKind> blocks;       // one entry per layer, from attn/hyena_layer_idxs

  // attention blocks
  int num_attention_heads = 0;
  int num_kv_heads = 0;                // num_attention_heads / proj_groups (or all, when smeared_gqa)
  bool qkv_proj_bias = false;
  bool mha_out_proj_bias = false;
  double rotary_emb_base = 10000.0;
  double rotary_scaling_factor = 1.0;  // linear position interpolation (use_interpolated_rotary_pos_emb)

  // Hyena blocks
  int short_filter_length = 3;
  bool short_filter_bias = true;
  int state_size = 2;
  bool column_split_hyena = true;

  // every block
  int inner_mlp_size = 0;
  MlpActivation mlp_activation = MlpActivation::silu;
  double eps = 1e-5;
  bool tie_embeddings = false;
  bool final_norm = true;
  int max_seqlen = 0;                  // the longest prompt the model was configured for

  // Keys present in the file that we neither use nor know; shown by model-info.
  std::vector<std::string> unknown_keys;

  int head_dim() const { return hidden_size / num_attention_heads; }
  int num_attention_blocks() const;
  int num_hyena_blocks() const;

  // Parameter count implied by the config (what the checkpoint must hold).
  std::int64_t parameter_count() const;
  // Bytes of decode state for `positions` tokens: KV cache (bf16) plus Hyena FIR+IIR states.
  std::uint64_t kv_cache_bytes(std::int64_t positions, int bytes_per_value = 2) const;
  std::uint64_t hyena_state_bytes() const;

  // Parse and validate; `source` names the file in error messages.
  static ModelConfig from_json(const nlohmann::json& j, const std::string& source);
  static ModelConfig from_file(const std::filesystem::path& config_json);
  // The HF config.json this config came from (or would, for mkmodel), with model_type etc.
  nlohmann::json to_json() const;
};

const char* to_string(BlockKind kind);

}  // namespace hd
