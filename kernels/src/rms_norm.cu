#include <stdexcept>
#include <string>

#include "hd/kernels/cuda_check.h"
#include "hd/kernels/rms_norm.h"
#include "numeric.cuh"
#include "overlapped_launch.cuh"

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

// The same two norms with 16-byte accesses and each thread's values held in registers between
// the sum and the scaling (no second read of x): 128 threads a row, kChunks chunks of 8 values a
// thread, so rows up to 128 * 8 * 8 = 8192 wide. The scalar kernels above ran at 6-19% of the
// H200's memory bandwidth in the 7B prefill profile.
constexpr int kVecThreads = 128;
constexpr int kMaxChunks = 8;

__device__ float block_inv_rms_vec(float partial, int dim, float eps) {
  for (int offset = 16; offset > 0; offset /= 2) partial += __shfl_xor_sync(0xffffffffu, partial, offset);
  __shared__ float warp_sums[kVecThreads / 32];
  if (threadIdx.x % 32 == 0) warp_sums[threadIdx.x / 32] = partial;
  __syncthreads();
  float total = 0.f;
#pragma unroll
  for (int w = 0; w < kVecThreads / 32; ++w) total += warp_sums[w];  // every thread: no second barrier
  return rsqrtf(total / static_cast<float>(dim) + eps);
}

template <typename In, typename T, int kChunks>
__global__ void __launch_bounds__(kVecThreads) rms_norm_kernel8(const In* x_all, const T* scale, T* out_all, int dim,
                                                                 float eps) {
  allow_next_kernel_to_start();  // a one-row GEMV follows: its first weight loads overlap this
  wait_for_previous_kernel();
  const In* x = x_all + static_cast<size_t>(blockIdx.x) * dim;
  T* out = out_all + static_cast<size_t>(blockIdx.x) * dim;
  const int chunks = dim / 8;
  float v[kChunks][8];
  float sum = 0.f;
#pragma unroll
  for (int k = 0; k < kChunks; ++k) {
    const int c = threadIdx.x + k * kVecThreads;
    if (c < chunks) {
      load8(x + c * 8, v[k]);
#pragma unroll
      for (int j = 0; j < 8; ++j) sum += v[k][j] * v[k][j];
    }
  }
  const float inv_rms = block_inv_rms_vec(sum, dim, eps);
#pragma unroll
  for (int k = 0; k < kChunks; ++k) {
    const int c = threadIdx.x + k * kVecThreads;
    if (c < chunks) {
      float s[8], o[8];
      load8(scale + c * 8, s);
#pragma unroll
      for (int j = 0; j < 8; ++j) o[j] = v[k][j] * inv_rms * s[j];
      store8(out + c * 8, o);
    }
  }
}

template <typename T, int kChunks>
__global__ void __launch_bounds__(kVecThreads) add_rms_norm_kernel8(float* x_all, const T* delta_all, const T* scale,
                                                                     T* out_all, int dim, float eps) {
  allow_next_kernel_to_start();  // a one-row GEMV follows: its first weight loads overlap this
  wait_for_previous_kernel();
  float* x = x_all + static_cast<size_t>(blockIdx.x) * dim;
  const T* delta = delta_all + static_cast<size_t>(blockIdx.x) * dim;
  T* out = out_all + static_cast<size_t>(blockIdx.x) * dim;
  const int chunks = dim / 8;
  float v[kChunks][8];
  float sum = 0.f;
#pragma unroll
  for (int k = 0; k < kChunks; ++k) {
    const int c = threadIdx.x + k * kVecThreads;
    if (c < chunks) {
      float d[8];
      load8(x + c * 8, v[k]);
      load8(delta + c * 8, d);
#pragma unroll
      for (int j = 0; j < 8; ++j) {
        v[k][j] += d[j];
        sum += v[k][j] * v[k][j];
      }
      store8(x + c * 8, v[k]);
    }
  }
  const float inv_rms = block_inv_rms_vec(sum, dim, eps);
#pragma unroll
  for (int k = 0; k < kChunks; ++k) {
    const int c = threadIdx.x + k * kVecThreads;
    if (c < chunks) {
      float s[8], o[8];
      load8(scale + c * 8, s);
#pragma unroll
      for (int j = 0; j < 8; ++j) o[j] = v[k][j] * inv_rms * s[j];
      store8(out + c * 8, o);
    }
  }
}

// Chunks of 8 a thread the row needs (1, 2, 4 or 8), or 0 when the vector kernels do not apply.
inline int vec_chunks(int dim, const void* a, const void* b, const void* c) {
  if (dim % 8 != 0 || dim > kVecThreads * 8 * kMaxChunks || !aligned16(a) || !aligned16(b) || !aligned16(c)) return 0;
  const int per_thread = (dim / 8 + kVecThreads - 1) / kVecThreads;
  return per_thread <= 1 ? 1 : per_thread <= 2 ? 2 : per_thread <= 4 ? 4 : 8;
}

template <typename In, typename T>
bool launch_rms_norm8(const In* x, const T* scale, T* out, int rows, int dim, float eps, cudaStream_t stream) {
  switch (vec_chunks(dim, x, scale, out)) {
    case 1: launch_overlapping_previous(rms_norm_kernel8<In, T, 1>, rows, kVecThreads, stream, x, scale, out, dim, eps); return true;
    case 2: launch_overlapping_previous(rms_norm_kernel8<In, T, 2>, rows, kVecThreads, stream, x, scale, out, dim, eps); return true;
    case 4: launch_overlapping_previous(rms_norm_kernel8<In, T, 4>, rows, kVecThreads, stream, x, scale, out, dim, eps); return true;
    case 8: launch_overlapping_previous(rms_norm_kernel8<In, T, 8>, rows, kVecThreads, stream, x, scale, out, dim, eps); return true;
    default: return false;
  }
}

template <typename T>
bool launch_add_rms_norm8(float* x, const T* delta, const T* scale, T* out, int rows, int dim, float eps,
                          cudaStream_t stream) {
  if (!aligned16(x)) return false;
  switch (vec_chunks(dim, delta, scale, out)) {
    case 1: launch_overlapping_previous(add_rms_norm_kernel8<T, 1>, rows, kVecThreads, stream, x, delta, scale, out, dim, eps); return true;
    case 2: launch_overlapping_previous(add_rms_norm_kernel8<T, 2>, rows, kVecThreads, stream, x, delta, scale, out, dim, eps); return true;
    case 4: launch_overlapping_previous(add_rms_norm_kernel8<T, 4>, rows, kVecThreads, stream, x, delta, scale, out, dim, eps); return true;
    case 8: launch_overlapping_previous(add_rms_norm_kernel8<T, 8>, rows, kVecThreads, stream, x, delta, scale, out, dim, eps); return true;
    default: return false;
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
  if (!launch_rms_norm8<T, T>(p.x, p.scale, p.out, p.rows, p.dim, p.eps, stream)) {
    rms_norm_kernel<T, T><<<p.rows, kThreads, 0, stream>>>(p.x, p.scale, p.out, p.dim, p.eps);
  }
  HD_CHECK_LAUNCH();
}

template <typename T>
void rms_norm_from_float(const float* x, const T* scale, T* out, int rows, int dim, float eps, cudaStream_t stream) {
  if (rows == 0) return;
  if (!launch_rms_norm8<float, T>(x, scale, out, rows, dim, eps, stream)) {
    rms_norm_kernel<float, T><<<rows, kThreads, 0, stream>>>(x, scale, out, dim, eps);
  }
  HD_CHECK_LAUNCH();
}

template <typename T>
void residual_add_rms_norm(float* x, const T* delta, const T* scale, T* out, int rows, int dim, float eps,
                           cudaStream_t stream) {
  if (rows == 0) return;
  if (!launch_add_rms_norm8<T>(x, delta, scale, out, rows, dim, eps, stream)) {
    add_rms_norm_kernel<T><<<rows, kThreads, 0, stream>>>(x, delta, scale, out, dim, eps);
  }
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
