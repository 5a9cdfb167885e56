#include <stdexcept>
#include <string>

#include "hd/kernels/cuda_check.h"
#include "hd/kernels/rms_norm.h"
#include "numeric.cuh"

namespace hd {
namespace {

// 1024 threads: a one-row call (decode) is one block, and 256 threads took 16 us for 4096 values.
constexpr int kThreads = 1024;


// Sum of `partial` over the block, then rsqrt(mean + eps), seen by every thread.
__device__ float block_inv_rms(float partial, int dim, float eps) {
  for (int offset = 16; offset > 0; offset /= 2) partial += __shfl_xor_sync(0xffffffffu, partial, offset);
  __shared__ float warp_sums[kThreads / 32];
  __shared__ float inv_rms;
  if (threadIdx.x % 32 == 0) warp_sums[threadIdx.x / 32] = partial;
  __syncthreads();
  if (threadIdx.x == 0) {
    float total = 0.f;
    for (int w = 0; w < kThreads / 32; ++w) total += warp_sums[w];
    inv_rms = rsqrtf(total / static_cast<float>(dim) + eps);
  }
  __syncthreads();
  return inv_rms;
}

// One block per row: a strided pass for the sum of squares, a block reduction, a second pass to scale.
template <typename In, typename T>
__global__ void rms_norm_kernel(const In* x_all, const T* scale, T* out_all, int dim, float eps) {
  const In* x = x_all + static_cast<size_t>(blockIdx.x) * dim;
  T* out = out_all + static_cast<size_t>(blockIdx.x) * dim;
  float sum = 0.f;
  for (int i = threadIdx.x; i < dim; i += blockDim.x) {
    float v = to_f32(x[i]);
    sum += v * v;
  }
  const float inv_rms = block_inv_rms(sum, dim, eps);
  for (int i = threadIdx.x; i < dim; i += blockDim.x) {
    out[i] = from_f32<T>(to_f32(x[i]) * inv_rms * to_f32(scale[i]));
  }
}

// The residual add and the norm after it in one pass: x += delta, out = norm(x). Each thread
// rereads only the elements it wrote.
template <typename T>
__global__ void add_rms_norm_kernel(float* x_all, const T* delta_all, const T* scale, T* out_all, int dim, float eps) {
  float* x = x_all + static_cast<size_t>(blockIdx.x) * dim;
  const T* delta = delta_all + static_cast<size_t>(blockIdx.x) * dim;
  T* out = out_all + static_cast<size_t>(blockIdx.x) * dim;
  float sum = 0.f;
  for (int i = threadIdx.x; i < dim; i += blockDim.x) {
    const float v = x[i] + to_f32(delta[i]);
    x[i] = v;
    sum += v * v;
  }
  const float inv_rms = block_inv_rms(sum, dim, eps);
  for (int i = threadIdx.x; i < dim; i += blockDim.x) out[i] = from_f32<T>(x[i] * inv_rms * to_f32(scale[i]));
}

}  // namespace

template <typename T>
void rms_norm(const RmsNormParams<T>& p, cudaStream_t stream) {
  if (p.rows < 0 || p.dim <= 0 || !p.x || !p.scale || !p.out) {
    throw std::invalid_argument("rms_norm: bad shape or null pointer (rows=" + std::to_string(p.rows) +
                                ", dim=" + std::to_string(p.dim) + ")");
  }
  if (p.rows == 0) return;
  rms_norm_kernel<T, T><<<p.rows, kThreads, 0, stream>>>(p.x, p.scale, p.out, p.dim, p.eps);
  HD_CHECK_LAUNCH();
}

template <typename T>
void rms_norm_from_float(const float* x, const T* scale, T* out, int rows, int dim, float eps, cudaStream_t stream) {
  if (rows == 0) return;
  rms_norm_kernel<float, T><<<rows, kThreads, 0, stream>>>(x, scale, out, dim, eps);
  HD_CHECK_LAUNCH();
}

template <typename T>
void residual_add_rms_norm(float* x, const T* delta, const T* scale, T* out, int rows, int dim, float eps,
                           cudaStream_t stream) {
  if (rows == 0) return;
  add_rms_norm_kernel<T><<<rows, kThreads, 0, stream>>>(x, delta, scale, out, dim, eps);
  HD_CHECK_LAUNCH();
}

template void rms_norm<float>(const RmsNormParams<float>&, cudaStream_t);
template void rms_norm<__nv_bfloat16>(const RmsNormParams<__nv_bfloat16>&, cudaStream_t);
template void rms_norm_from_float<float>(const float*, const float*, float*, int, int, float, cudaStream_t);
template void rms_norm_from_float<__nv_bfloat16>(const float*, const __nv_bfloat16*, __nv_bfloat16*, int, int, float,
                                                 cudaStream_t);

template void residual_add_rms_norm<float>(float*, const float*, const float*, float*, int, int, float, cudaStream_t);
template void residual_add_rms_norm<__nv_bfloat16>(float*, const __nv_bfloat16*, const __nv_bfloat16*, __nv_bfloat16*,
                                                   int, int, float, cudaStream_t);

}  // namespace hd
