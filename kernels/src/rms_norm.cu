#include <stdexcept>
#include <string>

#include "hd/kernels/cuda_check.h"
#include "hd/kernels/rms_norm.h"

namespace hd {
namespace {

constexpr int kThreads = 256;

__device__ inline float to_float(float v) { return v; }
__device__ inline float to_float(__nv_bfloat16 v) { return __bfloat162float(v); }
template <typename T> __device__ inline T from_float(float v);
template <> __device__ inline float from_float<float>(float v) { return v; }
template <> __device__ inline __nv_bfloat16 from_float<__nv_bfloat16>(float v) { return __float2bfloat16(v); }

// One block per row: a strided pass for the sum of squares, a block reduction, a second pass to scale.
template <typename T>
__global__ void rms_norm_kernel(RmsNormParams<T> p) {
  const T* x = p.x + static_cast<size_t>(blockIdx.x) * p.dim;
  T* out = p.out + static_cast<size_t>(blockIdx.x) * p.dim;
  float sum = 0.f;
  for (int i = threadIdx.x; i < p.dim; i += blockDim.x) {
    float v = to_float(x[i]);
    sum += v * v;
  }
  for (int offset = 16; offset > 0; offset /= 2) sum += __shfl_xor_sync(0xffffffffu, sum, offset);
  __shared__ float warp_sums[kThreads / 32];
  __shared__ float inv_rms;
  if (threadIdx.x % 32 == 0) warp_sums[threadIdx.x / 32] = sum;
  __syncthreads();
  if (threadIdx.x == 0) {
    float total = 0.f;
    for (int w = 0; w < kThreads / 32; ++w) total += warp_sums[w];
    inv_rms = rsqrtf(total / static_cast<float>(p.dim) + p.eps);
  }
  __syncthreads();
  for (int i = threadIdx.x; i < p.dim; i += blockDim.x) {
    out[i] = from_float<T>(to_float(x[i]) * inv_rms * to_float(p.scale[i]));
  }
}

}  // namespace

template <typename T>
void rms_norm(const RmsNormParams<T>& p, cudaStream_t stream) {
  if (p.rows < 0 || p.dim <= 0 || !p.x || !p.scale || !p.out) {
    throw std::invalid_argument("rms_norm: bad shape or null pointer (rows=" + std::to_string(p.rows) +
                                ", dim=" + std::to_string(p.dim) + ")");
  }
  if (p.rows == 0) return;
  rms_norm_kernel<T><<<p.rows, kThreads, 0, stream>>>(p);
  HD_CHECK_LAUNCH();
}

template void rms_norm<float>(const RmsNormParams<float>&, cudaStream_t);
template void rms_norm<__nv_bfloat16>(const RmsNormParams<__nv_bfloat16>&, cudaStream_t);

}  // namespace hd
