#include "hd/engine/model_presets.h"

namespace hd {
namespace {

ModelConfig seven_b_pattern(int vocab, int hidden, int layers, int heads, int kv_heads, int mlp) {
  ModelConfig c;
  c.vocab_size = vocab;
  c.hidden_size = hidden;
  c.num_layers = layers;
  for (int i = 0; i < layers; ++i) c.blocks.push_back(i % 2 ? BlockKind::attention : BlockKind::hyena);
  c.num_attention_heads = heads;
  c.num_kv_heads = kv_heads;
  c.qkv_proj_bias = false;
  c.mha_out_proj_bias = false;
  c.rotary_emb_base = 500000;
  c.short_filter_length = 3;
  c.short_filter_bias = true;
  c.state_size = 2;
  c.column_split_hyena = true;
  c.inner_mlp_size = mlp;
  c.eps = 1e-5;
  c.tie_embeddings = false;
  c.final_norm = true;
  c.max_seqlen = 32768;
  return c;
}

}  // namespace

std::vector<std::string> preset_names() { return {"tiny", "tiny-32k", "tiny-mix", "100m", "7b"}; }

ModelConfig preset_config(const std::string& name) {
  if (name == "7b") return seven_b_pattern(32000, 4096, 32, 32, 8, 14336);
  if (name == "100m") return seven_b_pattern(32000, 768, 12, 12, 4, 2048);
  if (name == "tiny") return seven_b_pattern(512, 64, 4, 4, 2, 128);
  if (name == "tiny-32k") return seven_b_pattern(32000, 64, 4, 4, 2, 128);  // with the real tokenizer
  if (name == "tiny-mix") {
    ModelConfig c = seven_b_pattern(384, 48, 4, 4, 4, 96);
    c.blocks = {BlockKind::hyena, BlockKind::hyena, BlockKind::attention, BlockKind::hyena};
    c.state_size = 4;
    c.qkv_proj_bias = true;
    c.mha_out_proj_bias = true;
    c.rotary_emb_base = 10000;
    return c;
  }
  std::string known;
  for (const auto& n : preset_names()) known += (known.empty() ? "" : ", ") + n;
  throw ConfigError("unknown model preset \"" + name + "\" (known: " + known + ")");
}

}  // namespace hd
