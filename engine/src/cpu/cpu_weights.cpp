#include "cpu_weights.h"

#include <cstring>

#include "hd/engine/tensor_names.h"

namespace hd::cpu {
namespace {

Linear linear(const Checkpoint& ck, const std::string& prefix, bool with_bias) {
  const TensorView& w = ck.tensor(prefix + ".weight");
  Linear l;
  l.out = static_cast<int>(w.shape[0]);
  l.in = static_cast<int>(w.shape[1]);
  l.weight = Matrix::from(w);
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

Matrix Matrix::from(const TensorView& t) {
  Matrix m;
  m.rows = static_cast<int>(t.shape.at(0));
  m.cols = static_cast<int>(t.numel() / t.shape.at(0));
  if (t.dtype == DType::bf16) {
    m.bf16.resize(static_cast<std::size_t>(t.numel()));
    std::memcpy(m.bf16.data(), t.data, t.nbytes);
  } else {
    m.f32 = t.to_floats();
  }
  return m;
}

void Matrix::row(int r, float* dst) const {
  const std::size_t at = static_cast<std::size_t>(r) * static_cast<std::size_t>(cols);
  if (!bf16.empty()) {
    const std::uint16_t* src = bf16.data() + at;
    for (int i = 0; i < cols; ++i) {
      const std::uint32_t bits = static_cast<std::uint32_t>(src[i]) << 16;
      std::memcpy(dst + i, &bits, sizeof bits);
    }
  } else {
    std::memcpy(dst, f32.data() + at, sizeof(float) * static_cast<std::size_t>(cols));
  }
}

ModelWeights ModelWeights::from_checkpoint(const Checkpoint& ck) {
  const ModelConfig& c = ck.config();
  using tensor_name::block;
  ModelWeights m;
  m.embedding = Matrix::from(ck.tensor("embedding_layer.weight"));
  if (!c.tie_embeddings) m.unembed = Matrix::from(ck.tensor("unembed.weight"));
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
