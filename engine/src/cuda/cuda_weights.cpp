#include "cuda_weights.h"

#include "bf16_host.h"

#include <cuda_bf16.h>

#include <cstring>

#include "hd/engine/tensor_names.h"

namespace hd::cuda {
namespace {

// Host bytes of `views` (concatenated) in T: raw copies when stored as T already.
template <typename T>
std::vector<T> host_values(const std::vector<const TensorView*>& views) {
  std::size_t n = 0;
  for (auto* v : views) n += static_cast<std::size_t>(v->numel());
  std::vector<T> out(n);
  std::size_t at = 0;
  for (auto* v : views) {
    const bool same = (std::is_same_v<T, float> && v->dtype == DType::f32) ||
                      (std::is_same_v<T, __nv_bfloat16> && v->dtype == DType::bf16);
    if (same) {
      std::memcpy(out.data() + at, v->data, v->nbytes);
    } else {
      std::vector<float> f = v->to_floats();
      for (std::size_t i = 0; i < f.size(); ++i) {
        out[at + i] = host_from_float<T>(f[i]);
      }
    }
    at += static_cast<std::size_t>(v->numel());
  }
  return out;
}

template <typename U>
DeviceBuffer<U> to_device(const std::vector<U>& host, cudaStream_t stream) {
  DeviceBuffer<U> d(host.size());
  d.upload(host, stream);
  HD_CUDA_CHECK(cudaStreamSynchronize(stream));  // `host` goes out of scope after this
  return d;
}

template <typename T>
DeviceBuffer<T> tensor(const Checkpoint& ck, const std::string& name, cudaStream_t stream) {
  return to_device(host_values<T>({&ck.tensor(name)}), stream);
}

template <typename T>
DeviceLinear<T> linear(const Checkpoint& ck, const std::string& prefix, bool bias, cudaStream_t stream) {
  const TensorView& w = ck.tensor(prefix + ".weight");
  DeviceLinear<T> l;
  l.out = static_cast<int>(w.shape[0]);
  l.in = static_cast<int>(w.shape[1]);
  l.weight = tensor<T>(ck, prefix + ".weight", stream);
  if (bias) l.bias = tensor<T>(ck, prefix + ".bias", stream);
  return l;
}

DeviceBuffer<float2> complex_tensor(const Checkpoint& ck, const std::string& name, cudaStream_t stream) {
  std::vector<float> f = ck.tensor(name).to_floats();  // [D, S, 1, 2]
  std::vector<float2> c(f.size() / 2);
  for (std::size_t i = 0; i < c.size(); ++i) c[i] = {f[2 * i], f[2 * i + 1]};
  return to_device(c, stream);
}

}  // namespace

template <typename T>
DeviceWeights<T> DeviceWeights<T>::upload(const Checkpoint& ck, cudaStream_t stream) {
  const ModelConfig& c = ck.config();
  using tensor_name::block;
  DeviceWeights<T> w;
  w.embedding = tensor<T>(ck, "embedding_layer.weight", stream);
  if (!c.tie_embeddings) w.unembed = tensor<T>(ck, "unembed.weight", stream);
  if (c.final_norm) w.final_norm = tensor<T>(ck, "norm.scale", stream);
  for (int i = 0; i < c.num_layers; ++i) {
    DeviceBlock<T> b;
    b.kind = c.blocks[i];
    b.pre_norm = tensor<T>(ck, block(i, "pre_norm.scale"), stream);
    b.post_norm = tensor<T>(ck, block(i, "post_norm.scale"), stream);
    b.mlp_in.in = c.hidden_size;
    b.mlp_in.out = 2 * c.inner_mlp_size;
    b.mlp_in.weight = to_device(
        host_values<T>({&ck.tensor(block(i, "mlp.l1.weight")), &ck.tensor(block(i, "mlp.l2.weight"))}), stream);
    b.mlp_out = linear<T>(ck, block(i, "mlp.l3"), false, stream);
    if (b.kind == BlockKind::attention) {
      b.wqkv = linear<T>(ck, block(i, "inner_mha_cls.Wqkv"), c.qkv_proj_bias, stream);
      b.out_proj = linear<T>(ck, block(i, "inner_mha_cls.out_proj"), c.mha_out_proj_bias, stream);
    } else {
      b.projections = linear<T>(ck, block(i, "projections"), true, stream);
      b.out_dense = linear<T>(ck, block(i, "out_filter_dense"), true, stream);
      b.fir_weight = tensor<T>(ck, block(i, "filter.short_filter_weight"), stream);
      if (c.short_filter_bias) b.fir_bias = tensor<T>(ck, block(i, "filter.short_filter_bias"), stream);
      b.poles = complex_tensor(ck, block(i, "filter.poles"), stream);
      b.residues = complex_tensor(ck, block(i, "filter.residues"), stream);
      b.skip = tensor<T>(ck, block(i, "filter.D"), stream);
    }
    w.blocks.push_back(std::move(b));
  }
  return w;
}

template <typename T>
std::uint64_t DeviceWeights<T>::bytes() const {
  std::uint64_t n = embedding.bytes() + unembed.bytes() + final_norm.bytes();
  for (const auto& b : blocks) {
    for (const auto* l : {&b.mlp_in, &b.mlp_out, &b.wqkv, &b.out_proj, &b.projections, &b.out_dense}) {
      n += l->weight.bytes() + l->bias.bytes();
    }
    n += b.pre_norm.bytes() + b.post_norm.bytes() + b.fir_weight.bytes() + b.fir_bias.bytes() + b.skip.bytes() +
         b.poles.bytes() + b.residues.bytes();
  }
  return n;
}

template struct DeviceWeights<float>;
template struct DeviceWeights<__nv_bfloat16>;

}  // namespace hd::cuda
