#pragma once
// RMSNorm over the last dimension, as StripedHyena's fused kernel computes it:
//   out[r, i] = x[r, i] * rsqrt(mean_i(x[r, :]^2) + eps) * scale[i]
// Accumulation in float32 whatever the storage type.
#include <cuda_bf16.h>
#include <cuda_runtime_api.h>

namespace hd {

template <typename T>
struct RmsNormParams {
  const T* x = nullptr;      // [rows, dim], row-major, row stride = dim
  const T* scale = nullptr;  // [dim]
  T* out = nullptr;          // [rows, dim]; may alias x
  int rows = 0;
  int dim = 0;
  float eps = 1e-5f;
};

// Defined for T = float and T = __nv_bfloat16.
template <typename T>
void rms_norm(const RmsNormParams<T>& p, cudaStream_t stream);

// The same from the float32 residual stream x [rows, dim] into T (the next GEMM's input).
template <typename T>
void rms_norm_from_float(const float* x, const T* scale, T* out, int rows, int dim, float eps, cudaStream_t stream);

// x += float(delta), then out = rms_norm(x) into T: a block's residual add fused with the norm
// that follows it (one launch instead of two; decode runs 64 of these pairs a token on the 7B).
template <typename T>
void residual_add_rms_norm(float* x, const T* delta, const T* scale, T* out, int rows, int dim, float eps,
                           cudaStream_t stream);

}  // namespace hd
