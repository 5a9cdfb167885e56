#include "cuda_bert_encoder.h"

#include <algorithm>

#include "hd/kernels/bert_ops.h"
#include "hd/kernels/cuda_check.h"
#include "hd/kernels/cuda_context.h"
#include "hd/kernels/gemm.h"

namespace hd::embed {
namespace {

DeviceBuffer<float> upload(const std::vector<float>& host, cudaStream_t stream) {
  DeviceBuffer<float> d(host.size());
  d.upload(host, stream);
  return d;
}

struct DeviceLinear {
  DeviceBuffer<float> weight, bias;
  int in = 0, out = 0;
};
struct DeviceNorm {
  DeviceBuffer<float> gain, bias;
};
struct DeviceLayer {
  DeviceLinear query, key, value, attn_out, inter, out;
  DeviceNorm attn_norm, out_norm;
};

}  // namespace

struct CudaBertEncoder::Impl {
  CudaContext ctx;
  int hidden = 0, heads = 0, inter = 0;
  float eps = 0;
  DeviceBuffer<float> word, pos, type0;
  DeviceNorm emb_norm;
  std::vector<DeviceLayer> layers;
  // Working buffers, grown to the largest batch so far.
  std::size_t capacity_rows = 0, capacity_seqs = 0;
  DeviceBuffer<int> ids, positions, seq_start;
  DeviceBuffer<float> x, q, k, v, ctx_out, tmp, mid, pooled;

  DeviceLinear linear(const Linear& l) {
    return {upload(l.weight, ctx.stream()), upload(l.bias, ctx.stream()), l.in, l.out};
  }
  DeviceNorm norm(const Norm& n) { return {upload(n.gain, ctx.stream()), upload(n.bias, ctx.stream())}; }
  void reserve(std::size_t rows, std::size_t seqs) {
    if (rows > capacity_rows) {
      capacity_rows = rows;
      const std::size_t h = rows * static_cast<std::size_t>(hidden);
      ids = DeviceBuffer<int>(rows);
      positions = DeviceBuffer<int>(rows);
      x = DeviceBuffer<float>(h);
      q = DeviceBuffer<float>(h);
      k = DeviceBuffer<float>(h);
      v = DeviceBuffer<float>(h);
      ctx_out = DeviceBuffer<float>(h);
      tmp = DeviceBuffer<float>(h);
      mid = DeviceBuffer<float>(rows * static_cast<std::size_t>(inter));
    }
    if (seqs > capacity_seqs) {
      capacity_seqs = seqs;
      seq_start = DeviceBuffer<int>(seqs + 1);
      pooled = DeviceBuffer<float>(seqs * static_cast<std::size_t>(hidden));
    }
  }
  // y[rows, out] = x[rows, in] W^T (bias added by the kernel that follows)
  void gemm(const float* in, const DeviceLinear& l, float* out, int rows) {
    hd::linear(ctx.cublas(), in, l.weight.data(), out, CUDA_R_32F, CUDA_R_32F, rows, l.in, l.out);
  }
};

CudaBertEncoder::CudaBertEncoder(const BertWeights& w) : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.hidden = w.hidden;
  m.heads = w.heads;
  m.inter = w.inter;
  m.eps = w.eps;
  m.word = upload(w.word_emb, m.ctx.stream());
  m.pos = upload(w.pos_emb, m.ctx.stream());
  m.type0 = upload(std::vector<float>(w.type_emb.begin(), w.type_emb.begin() + w.hidden), m.ctx.stream());
  m.emb_norm = m.norm(w.emb_norm);
  for (const Layer& l : w.layers) {
    m.layers.push_back({m.linear(l.query), m.linear(l.key), m.linear(l.value), m.linear(l.attn_out), m.linear(l.inter),
                        m.linear(l.out), m.norm(l.attn_norm), m.norm(l.out_norm)});
  }
  m.ctx.synchronize();
}

CudaBertEncoder::~CudaBertEncoder() = default;

std::vector<float> CudaBertEncoder::encode(const std::vector<std::vector<std::int32_t>>& seqs) {
  Impl& m = *impl_;
  std::vector<int> ids, positions, start{0};
  int max_len = 0;
  for (const auto& s : seqs) {
    for (std::size_t i = 0; i < s.size(); ++i) {
      ids.push_back(s[i]);
      positions.push_back(static_cast<int>(i));
    }
    start.push_back(start.back() + static_cast<int>(s.size()));
    max_len = std::max(max_len, static_cast<int>(s.size()));
  }
  const int rows = start.back(), n = static_cast<int>(seqs.size()), d = m.hidden;
  std::vector<float> out(static_cast<std::size_t>(n) * d);
  if (rows == 0) return out;
  m.reserve(static_cast<std::size_t>(rows), static_cast<std::size_t>(n));
  const cudaStream_t st = m.ctx.stream();
  HD_CUDA_CHECK(cudaMemcpyAsync(m.ids.data(), ids.data(), ids.size() * sizeof(int), cudaMemcpyHostToDevice, st));
  HD_CUDA_CHECK(cudaMemcpyAsync(m.positions.data(), positions.data(), positions.size() * sizeof(int), cudaMemcpyHostToDevice, st));
  HD_CUDA_CHECK(cudaMemcpyAsync(m.seq_start.data(), start.data(), start.size() * sizeof(int), cudaMemcpyHostToDevice, st));

  bert_embed(m.ids.data(), m.positions.data(), m.word.data(), m.pos.data(), m.type0.data(), m.emb_norm.gain.data(),
             m.emb_norm.bias.data(), m.x.data(), rows, d, m.eps, st);
  for (const DeviceLayer& l : m.layers) {
    m.gemm(m.x.data(), l.query, m.q.data(), rows);
    m.gemm(m.x.data(), l.key, m.k.data(), rows);
    m.gemm(m.x.data(), l.value, m.v.data(), rows);
    bert_attention(m.q.data(), m.k.data(), m.v.data(), l.query.bias.data(), l.key.bias.data(), l.value.bias.data(),
                   m.seq_start.data(), n, max_len, m.heads, m.ctx_out.data(), st);
    m.gemm(m.ctx_out.data(), l.attn_out, m.tmp.data(), rows);
    bert_residual_layernorm(m.x.data(), m.tmp.data(), l.attn_out.bias.data(), l.attn_norm.gain.data(),
                            l.attn_norm.bias.data(), rows, d, m.eps, st);
    m.gemm(m.x.data(), l.inter, m.mid.data(), rows);
    bert_bias_gelu(m.mid.data(), l.inter.bias.data(), rows, m.inter, st);
    m.gemm(m.mid.data(), l.out, m.tmp.data(), rows);
    bert_residual_layernorm(m.x.data(), m.tmp.data(), l.out.bias.data(), l.out_norm.gain.data(), l.out_norm.bias.data(),
                            rows, d, m.eps, st);
  }
  bert_mean_pool_normalize(m.x.data(), m.seq_start.data(), n, d, m.pooled.data(), st);
  HD_CUDA_CHECK(cudaMemcpyAsync(out.data(), m.pooled.data(), out.size() * sizeof(float), cudaMemcpyDeviceToHost, st));
  m.ctx.synchronize();
  return out;
}

}  // namespace hd::embed
