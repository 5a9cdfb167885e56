#pragma once
// Model weights uploaded once to the GPU in the backend's storage type T (bf16, or float32
// for tests); poles and residues stay float32 (as complex float2).
#include <cuda_runtime_api.h>

#include <vector>

#include "hd/engine/checkpoint.h"
#include "hd/kernels/cuda_context.h"

namespace hd::cuda {

template <typename T>
struct DeviceLinear {
  int in = 0, out = 0;
  DeviceBuffer<T> weight;  // [out, in]
  DeviceBuffer<T> bias;    // [out] or empty
};

template <typename T>
struct DeviceBlock {
  BlockKind kind = BlockKind::hyena;
  DeviceBuffer<T> pre_norm, post_norm;
  DeviceLinear<T> mlp_in;   // l1 and l2 stacked: [2 * inner, D], so one GEMM feeds the gate
  DeviceLinear<T> mlp_out;  // l3
  DeviceLinear<T> wqkv, out_proj;
  DeviceLinear<T> projections, out_dense;
  DeviceBuffer<T> fir_weight, fir_bias, skip;
  DeviceBuffer<float2> poles, residues;
};

template <typename T>
struct DeviceWeights {
  DeviceBuffer<T> embedding, unembed, final_norm;
  std::vector<DeviceBlock<T>> blocks;
  const DeviceBuffer<T>& output_embedding() const { return unembed.size() ? unembed : embedding; }

  static DeviceWeights upload(const Checkpoint& checkpoint, cudaStream_t stream);
  std::uint64_t bytes() const;
};

}  // namespace hd::cuda
