#include "cpu_weights.h"

#include "hd/engine/tensor_names.h"

namespace hd::cpu {
namespace {

Linear linear(const Checkpoint& ck, const std::string& prefix, bool with_bias) {
  const TensorView& w = ck.tensor(prefix + ".weight");
  Linear l;
  l.out = static_cast<int>(w.shape[0]);
  l.in = static_cast<int>(w.shape[1]);
  l.weight = w.to_floats();
  if (with_bias) l.bias = ck.tensor(prefix + ".bias").to_floats();
  return l;
}

std::vector<std::complex<float>> complex_pairs(const TensorView& t) {  // [D, S, 1, 2] -> [D, S]
  std::vector<float> f = t.to_floats();
  std::vector<std::complex<float>> out(f.size() / 2);
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = {f[2 * i], f[2 * i + 1]};
  return out;
}

}  // namespace

ModelWeights ModelWeights::from_checkpoint(const Checkpoint& ck) {
  const ModelConfig& c = ck.config();
  using tensor_name::block;
  ModelWeights m;
  m.embedding = ck.tensor("embedding_layer.weight").to_floats();
  if (!c.tie_embeddings) m.unembed = ck.tensor("unembed.weight").to_floats();
  if (c.final_norm) m.final_norm = ck.tensor("norm.scale").to_floats();
  for (int i = 0; i < c.num_layers; ++i) {
    BlockWeights b;
    b.kind = c.blocks[i];
    b.pre_norm = ck.tensor(block(i, "pre_norm.scale")).to_floats();
    b.post_norm = ck.tensor(block(i, "post_norm.scale")).to_floats();
    b.mlp_l1 = linear(ck, block(i, "mlp.l1"), false);
    b.mlp_l2 = linear(ck, block(i, "mlp.l2"), false);
    b.mlp_l3 = linear(ck, block(i, "mlp.l3"), false);
    if (b.kind == BlockKind::attention) {
      b.wqkv = linear(ck, block(i, "inner_mha_cls.Wqkv"), c.qkv_proj_bias);
      b.out_proj = linear(ck, block(i, "inner_mha_cls.out_proj"), c.mha_out_proj_bias);
    } else {
      b.projections = linear(ck, block(i, "projections"), true);
      b.out_dense = linear(ck, block(i, "out_filter_dense"), true);
      b.fir_weight = ck.tensor(block(i, "filter.short_filter_weight")).to_floats();
      if (c.short_filter_bias) b.fir_bias = ck.tensor(block(i, "filter.short_filter_bias")).to_floats();
      b.poles = complex_pairs(ck.tensor(block(i, "filter.poles")));
      b.residues = complex_pairs(ck.tensor(block(i, "filter.residues")));
      b.skip = ck.tensor(block(i, "filter.D")).to_floats();
    }
    m.blocks.push_back(std::move(b));
  }
  return m;
}

}  // namespace hd::cpu
