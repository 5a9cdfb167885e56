#include "hd/engine/tensor_names.h"

namespace hd {

namespace tensor_name {
std::string block(int i, const std::string& leaf) { return "blocks." + std::to_string(i) + "." + leaf; }
}  // namespace tensor_name

bool is_ignorable_extra_tensor(const std::string& name) {
  return name.find("fftconv") != std::string::npos || name.find("twiddle_factors") != std::string::npos ||
         name.find("rotary_emb.inv_freq") != std::string::npos;
}

std::vector<TensorSpec> expected_tensors(const ModelConfig& c) {
  using tensor_name::block;
  const std::int64_t d = c.hidden_size, f = c.inner_mlp_size, v = c.vocab_size;
  const std::int64_t kv = static_cast<std::int64_t>(c.num_kv_heads) * c.head_dim();
  std::vector<TensorSpec> out;
  out.push_back({"embedding_layer.weight", {v, d}});
  for (int i = 0; i < c.num_layers; ++i) {
    out.push_back({block(i, "pre_norm.scale"), {d}});
    out.push_back({block(i, "post_norm.scale"), {d}});
    if (c.blocks[i] == BlockKind::attention) {
      out.push_back({block(i, "inner_mha_cls.Wqkv.weight"), {d + 2 * kv, d}});  // q heads, then k, then v
      if (c.qkv_proj_bias) out.push_back({block(i, "inner_mha_cls.Wqkv.bias"), {d + 2 * kv}});
      out.push_back({block(i, "inner_mha_cls.out_proj.weight"), {d, d}});
      if (c.mha_out_proj_bias) out.push_back({block(i, "inner_mha_cls.out_proj.bias"), {d}});
    } else {
      out.push_back({block(i, "projections.weight"), {3 * d, d}});
      out.push_back({block(i, "projections.bias"), {3 * d}});
      out.push_back({block(i, "filter.short_filter_weight"), {3 * d, 1, c.short_filter_length}});
      if (c.short_filter_bias) out.push_back({block(i, "filter.short_filter_bias"), {3 * d}});
      out.push_back({block(i, "filter.poles"), {d, c.state_size, 1, 2}, true});
      out.push_back({block(i, "filter.residues"), {d, c.state_size, 1, 2}, true});
      out.push_back({block(i, "filter.D"), {d}});
      out.push_back({block(i, "out_filter_dense.weight"), {d, d}});
      out.push_back({block(i, "out_filter_dense.bias"), {d}});
    }
    out.push_back({block(i, "mlp.l1.weight"), {f, d}});
    out.push_back({block(i, "mlp.l2.weight"), {f, d}});
    out.push_back({block(i, "mlp.l3.weight"), {d, f}});
  }
  if (c.final_norm) out.push_back({"norm.scale", {d}});
  if (!c.tie_embeddings) out.push_back({"unembed.weight", {v, d}});
  return out;
}

}  // namespace hd
