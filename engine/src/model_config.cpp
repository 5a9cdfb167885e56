#include "hd/engine/model_config.h"

#include <algorithm>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

namespace hd {
namespace {

using nlohmann::json;

// Keys of the HF config that steer the PyTorch reference's kernels, training or HF plumbing:
// accepted and ignored, since they do not change what the model computes.
const std::set<std::string> kIgnoredKeys = {
    "_name_or_path", "architectures", "auto_map", "model_type", "torch_dtype", "transformers_version",
    "use_cache", "use_flash_attn", "use_flash_attention_2", "use_flash_rmsnorm", "use_flash_depthwise",
    "use_flashfft", "use_laughing_hyena", "inference_mode", "prefill_style", "log_intermediate_values",
    "make_vocab_size_divisible_by", "mlp_init_method", "mlp_output_init_method", "model_name", "tokenizer_type",
    "vocab_file", "max_batch_size", "split_k0", "compile", "low_mem_mode", "print_activations", "bos_token_id",
    "eos_token_id", "pad_token_id", "tie_word_embeddings", "params_dtype", "attn_block_dtype", "hyena_block_dtype",
    "mlp_dtype", "return_dict", "depthwise_dtype"};

// Keys we read (everything else that is not ignored is reported as unknown).
const std::set<std::string> kUsedKeys = {
    "vocab_size", "hidden_size", "num_filters", "num_layers", "attn_layer_idxs", "hyena_layer_idxs",
    "num_attention_heads", "proj_groups", "smeared_gqa", "qkv_proj_bias", "mha_out_proj_bias", "rotary_emb_base",
    "use_interpolated_rotary_pos_emb", "rotary_emb_scaling_factor", "short_filter_length", "short_filter_bias",
    "state_size", "hyena_filter_groups", "column_split_hyena", "column_split", "inner_mlp_size",
    "inner_size_multiple_of", "mlp_activation", "eps", "tie_embeddings", "final_norm", "max_seqlen",
    "model_parallel_size", "pipe_parallel_size", "long_fir_threshold"};

class Reader {
 public:
  Reader(const json& j, const std::string& source) : j_(j), source_(source) {}

  [[noreturn]] void fail(const std::string& key, const std::string& problem) const {
    throw ConfigError(source_ + ": \"" + key + "\": " + problem);
  }
  bool has(const char* key) const { return j_.contains(key) && !j_.at(key).is_null(); }

  int positive_int(const char* key) const {
    if (!has(key)) fail(key, "missing (required)");
    const json& v = j_.at(key);
    if (!v.is_number_integer()) fail(key, "must be an integer, found " + v.dump());
    auto n = v.get<std::int64_t>();
    if (n <= 0 || n > (1ll << 30)) fail(key, "must be a positive integer, found " + std::to_string(n));
    return static_cast<int>(n);
  }
  int positive_int_or(const char* key, int fallback) const { return has(key) ? positive_int(key) : fallback; }

  bool boolean_or(const char* key, bool fallback) const {
    if (!has(key)) return fallback;
    const json& v = j_.at(key);
    if (!v.is_boolean()) fail(key, "must be true or false, found " + v.dump());
    return v.get<bool>();
  }
  double positive_number_or(const char* key, double fallback) const {
    if (!has(key)) return fallback;
    const json& v = j_.at(key);
    if (!v.is_number()) fail(key, "must be a number, found " + v.dump());
    double d = v.get<double>();
    if (!(d > 0)) fail(key, "must be positive, found " + v.dump());
    return d;
  }
  std::vector<int> index_list(const char* key) const {
    if (!has(key)) return {};
    const json& v = j_.at(key);
    if (!v.is_array()) fail(key, "must be a list of layer indices, found " + v.dump());
    std::vector<int> out;
    for (const json& e : v) {
      if (!e.is_number_integer() || e.get<std::int64_t>() < 0) fail(key, "layer indices must be integers >= 0");
      out.push_back(e.get<int>());
    }
    return out;
  }

 private:
  const json& j_;
  const std::string& source_;
};

}  // namespace

const char* to_string(BlockKind kind) { return kind == BlockKind::attention ? "attention" : "hyena"; }

int ModelConfig::num_attention_blocks() const {
  return static_cast<int>(std::count(blocks.begin(), blocks.end(), BlockKind::attention));
}
int ModelConfig::num_hyena_blocks() const { return static_cast<int>(blocks.size()) - num_attention_blocks(); }

std::int64_t ModelConfig::parameter_count() const {
  const std::int64_t d = hidden_size, v = vocab_size, f = inner_mlp_size;
  const std::int64_t kv_dim = static_cast<std::int64_t>(num_kv_heads) * head_dim();
  const std::int64_t per_block_common = 2 * d + 3 * d * f;  // two norms + gated MLP
  const std::int64_t attention = (d + 2 * kv_dim) * d + (qkv_proj_bias ? d + 2 * kv_dim : 0) + d * d +
                                 (mha_out_proj_bias ? d : 0);
  const std::int64_t hyena = 3 * d * d + 3 * d                             // projections
                             + 3 * d * short_filter_length + (short_filter_bias ? 3 * d : 0)
                             + 2 * 2 * d * state_size                      // poles, residues (re, im)
                             + d                                           // D
                             + d * d + d;                                  // out_filter_dense
  std::int64_t total = v * d * (tie_embeddings ? 1 : 2) + (final_norm ? d : 0);
  total += num_attention_blocks() * (per_block_common + attention);
  total += num_hyena_blocks() * (per_block_common + hyena);
  return total;
}

std::uint64_t ModelConfig::kv_cache_bytes(std::int64_t positions, int bytes_per_value) const {
  return static_cast<std::uint64_t>(num_attention_blocks()) * 2 * num_kv_heads * head_dim() *
         static_cast<std::uint64_t>(positions) * bytes_per_value;
}

std::uint64_t ModelConfig::hyena_state_bytes() const {
  // FIR: last (short_filter_length - 1) inputs of 3*d channels, float32.
  // IIR: d channels x state_size complex float32 states.
  const std::uint64_t fir = 3ull * hidden_size * (short_filter_length - 1) * 4;
  const std::uint64_t iir = static_cast<std::uint64_t>(hidden_size) * state_size * 8;
  return static_cast<std::uint64_t>(num_hyena_blocks()) * (fir + iir);
}

ModelConfig ModelConfig::from_json(const json& j, const std::string& source) {
  if (!j.is_object()) throw ConfigError(source + ": expected a JSON object at the top level");
  Reader r(j, source);
  ModelConfig c;
  c.vocab_size = r.positive_int("vocab_size");
  c.hidden_size = r.positive_int("hidden_size");
  c.num_layers = r.positive_int("num_layers");
  c.num_attention_heads = r.positive_int("num_attention_heads");
  if (c.hidden_size % c.num_attention_heads != 0) {
    r.fail("num_attention_heads", "hidden_size " + std::to_string(c.hidden_size) + " is not divisible by " +
                                      std::to_string(c.num_attention_heads) + " heads");
  }
  if (r.positive_int_or("num_filters", c.hidden_size) != c.hidden_size) {
    r.fail("num_filters", "must equal hidden_size (" + std::to_string(c.hidden_size) +
                              "): the reference keeps one long filter per channel");
  }
  int proj_groups = r.positive_int_or("proj_groups", 1);
  if (c.num_attention_heads % proj_groups != 0) {
    r.fail("proj_groups", std::to_string(c.num_attention_heads) + " heads do not split into " +
                              std::to_string(proj_groups) + " groups");
  }
  c.num_kv_heads = r.boolean_or("smeared_gqa", false) ? c.num_attention_heads : c.num_attention_heads / proj_groups;
  c.qkv_proj_bias = r.boolean_or("qkv_proj_bias", true);      // the reference's defaults
  c.mha_out_proj_bias = r.boolean_or("mha_out_proj_bias", true);
  c.rotary_emb_base = r.positive_number_or("rotary_emb_base", 10000.0);
  if (r.boolean_or("use_interpolated_rotary_pos_emb", false)) {
    c.rotary_scaling_factor = r.positive_number_or("rotary_emb_scaling_factor", 1.0);
  }
  c.short_filter_length = r.positive_int("short_filter_length");
  c.short_filter_bias = r.boolean_or("short_filter_bias", true);
  c.state_size = r.positive_int("state_size");
  if (r.positive_int_or("hyena_filter_groups", 1) != 1) {
    r.fail("hyena_filter_groups", "only 1 is supported (the reference's grouped filters are not self-consistent)");
  }
  c.column_split_hyena = r.boolean_or("column_split_hyena", true);
  if (r.boolean_or("column_split", false)) r.fail("column_split", "true is not supported (only column_split_hyena)");
  if (r.positive_int_or("model_parallel_size", 1) != 1 || r.positive_int_or("pipe_parallel_size", 1) != 1) {
    r.fail("model_parallel_size", "checkpoints split for model or pipeline parallelism are not supported");
  }
  if (r.has("long_fir_threshold")) r.fail("long_fir_threshold", "is not supported; remove it (null)");
  if (r.has("inner_mlp_size")) {
    c.inner_mlp_size = r.positive_int("inner_mlp_size");
  } else {  // the reference's rule: 8/3 * hidden, rounded up to a multiple of 64
    int multiple = r.positive_int_or("inner_size_multiple_of", 64);
    int inner = static_cast<int>(2 * c.hidden_size * 4 / 3);
    c.inner_mlp_size = multiple * ((inner + multiple - 1) / multiple);
  }
  if (r.has("mlp_activation")) {
    const json& a = j.at("mlp_activation");
    if (a == "silu") c.mlp_activation = MlpActivation::silu;
    else if (a == "gelu") c.mlp_activation = MlpActivation::gelu;
    else r.fail("mlp_activation", "must be \"silu\" or \"gelu\", found " + a.dump());
  }
  c.eps = r.positive_number_or("eps", 1e-5);
  c.tie_embeddings = r.boolean_or("tie_embeddings", false);
  c.final_norm = r.boolean_or("final_norm", true);
  c.max_seqlen = r.positive_int_or("max_seqlen", 8192);

  // Layer pattern. Indices past the last layer are ignored (the 7B config names hyena layer 32).
  std::vector<int> attn = r.index_list("attn_layer_idxs"), hyena = r.index_list("hyena_layer_idxs");
  std::vector<int> seen(c.num_layers, 0);
  for (int i : attn) if (i < c.num_layers) seen[i] |= 1;
  for (int i : hyena) if (i < c.num_layers) seen[i] |= 2;
  c.blocks.resize(c.num_layers);
  for (int i = 0; i < c.num_layers; ++i) {
    if (seen[i] == 3) r.fail("attn_layer_idxs", "layer " + std::to_string(i) + " is listed as attention and Hyena");
    if (seen[i] == 0) {
      r.fail("attn_layer_idxs", "layer " + std::to_string(i) + " is in neither attn_layer_idxs nor hyena_layer_idxs");
    }
    c.blocks[i] = seen[i] == 1 ? BlockKind::attention : BlockKind::hyena;
  }

  for (auto it = j.begin(); it != j.end(); ++it) {
    if (!kUsedKeys.count(it.key()) && !kIgnoredKeys.count(it.key())) c.unknown_keys.push_back(it.key());
  }
  return c;
}

ModelConfig ModelConfig::from_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(path.string() + ": cannot open model config");
  json j;
  try {
    j = json::parse(in);
  } catch (const json::parse_error& e) {
    throw ConfigError(path.string() + ": not valid JSON (" + e.what() + ")");
  }
  return from_json(j, path.string());
}

json ModelConfig::to_json() const {
  std::vector<int> attn, hyena;
  for (int i = 0; i < num_layers; ++i) (blocks[i] == BlockKind::attention ? attn : hyena).push_back(i);
  json j = {
      {"model_type", "stripedhyena"},
      {"architectures", {"StripedHyenaModelForCausalLM"}},
      {"vocab_size", vocab_size},
      {"hidden_size", hidden_size},
      {"num_filters", hidden_size},
      {"num_layers", num_layers},
      {"attn_layer_idxs", attn},
      {"hyena_layer_idxs", hyena},
      {"num_attention_heads", num_attention_heads},
      {"proj_groups", num_attention_heads / num_kv_heads},
      {"smeared_gqa", false},
      {"qkv_proj_bias", qkv_proj_bias},
      {"mha_out_proj_bias", mha_out_proj_bias},
      {"rotary_emb_base", rotary_emb_base},
      {"use_interpolated_rotary_pos_emb", rotary_scaling_factor != 1.0},
      {"rotary_emb_scaling_factor", rotary_scaling_factor},
      {"short_filter_length", short_filter_length},
      {"short_filter_bias", short_filter_bias},
      {"state_size", state_size},
      {"hyena_filter_groups", 1},
      {"column_split_hyena", column_split_hyena},
      {"column_split", false},
      {"inner_mlp_size", inner_mlp_size},
      {"mlp_activation", mlp_activation == MlpActivation::silu ? "silu" : "gelu"},
      {"eps", eps},
      {"tie_embeddings", tie_embeddings},
      {"final_norm", final_norm},
      {"max_seqlen", max_seqlen},
      {"model_parallel_size", 1},
      {"pipe_parallel_size", 1},
      {"prefill_style", "fft"},
      {"torch_dtype", "bfloat16"},
  };
  return j;
}

}  // namespace hd
