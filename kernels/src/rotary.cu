#include <stdexcept>

#include "hd/kernels/cuda_check.h"
#include "hd/kernels/rotary.h"
#include "numeric.cuh"
#include "overlapped_launch.cuh"

namespace hd {
namespace {

// One thread per (row, head slot, i < half): slots [0, heads) are q, then k, then v heads.
template <typename T>
__global__ void rotary_kernel(RotaryCacheParams<T> p) {
  const int half = p.head_dim / 2, slots = p.heads + 2 * p.kv_heads;
  const long long n = static_cast<long long>(p.rows) * slots * half;
  const long long idx = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  if (idx >= n) return;
  const int i = static_cast<int>(idx % half);
  const int slot = static_cast<int>((idx / half) % slots);
  const int r = static_cast<int>(idx / (static_cast<long long>(half) * slots));
  const T* src = p.qkv + (static_cast<long long>(r) * slots + slot) * p.head_dim;
  const long long pos = (p.device_position ? *p.device_position : p.first_position) + r;
  const int kv_width = p.kv_heads * p.head_dim;
  if (slot >= p.heads + p.kv_heads) {  // v: copied as is
    T* dst = p.v_cache + pos * kv_width + (slot - p.heads - p.kv_heads) * p.head_dim;
    dst[i] = src[i];
    dst[i + half] = src[i + half];
    return;
  }
  const float inv_freq = 1.0f / powf(p.base, static_cast<float>(2 * i) / static_cast<float>(p.head_dim));
  const float t = static_cast<float>(static_cast<double>(pos) / p.scaling);
  const float angle = t * inv_freq;
  double s, c;
  sincos(static_cast<double>(angle), &s, &c);
  const float x1 = to_f32(src[i]), x2 = to_f32(src[i + half]);
  const float o1 = x1 * static_cast<float>(c) - x2 * static_cast<float>(s);
  const float o2 = x1 * static_cast<float>(s) + x2 * static_cast<float>(c);
  T* dst = slot < p.heads ? p.q_out + (static_cast<long long>(r) * p.heads + slot) * p.head_dim
                          : p.k_cache + pos * kv_width + (slot - p.heads) * p.head_dim;
  dst[i] = from_f32<T>(o1);
  dst[i + half] = from_f32<T>(o2);
}

// The same rotation a row a block: the row's cos/sin (the same for every head) computed once into
// shared memory by the same formula, then every head's halves rotated eight values a thread with
// 16-byte accesses. The kernel above recomputed powf and a double sincos for each of the 40 q and
// k heads of a 7B row and moved 2 bytes a thread. Needs head_dim a multiple of 16 and <= 256.
constexpr int kRowThreads = 128;
constexpr int kMaxHalf = 128;

template <typename T>
__global__ void __launch_bounds__(kRowThreads) rotary_row_kernel(RotaryCacheParams<T> p) {
  __shared__ float cos_of[kMaxHalf], sin_of[kMaxHalf];
  const int half = p.head_dim / 2, slots = p.heads + 2 * p.kv_heads, r = blockIdx.x;
  const long long pos = (p.device_position ? *p.device_position : p.first_position) + r;
  for (int i = threadIdx.x; i < half; i += blockDim.x) {
    const float inv_freq = 1.0f / powf(p.base, static_cast<float>(2 * i) / static_cast<float>(p.head_dim));
    const float t = static_cast<float>(static_cast<double>(pos) / p.scaling);
    double s, c;
    sincos(static_cast<double>(t * inv_freq), &s, &c);
    cos_of[i] = static_cast<float>(c);
    sin_of[i] = static_cast<float>(s);
  }
  // The angles above need only the position (written before the step's first kernel), so they
  // overlap the QKV projection; its output is read from here on.
  wait_for_previous_kernel();
  allow_next_kernel_to_start();
  __syncthreads();
  const int per_slot = half / 8, kv_width = p.kv_heads * p.head_dim;
  for (int item = threadIdx.x; item < slots * per_slot; item += blockDim.x) {
    const int slot = item / per_slot, i = (item % per_slot) * 8;
    const T* src = p.qkv + (static_cast<long long>(r) * slots + slot) * p.head_dim;
    float x1[8], x2[8];
    load8(src + i, x1);
    load8(src + i + half, x2);
    if (slot >= p.heads + p.kv_heads) {  // v: copied as is
      T* dst = p.v_cache + pos * kv_width + (slot - p.heads - p.kv_heads) * p.head_dim;
      store8(dst + i, x1);
      store8(dst + i + half, x2);
      continue;
    }
    float o1[8], o2[8];
#pragma unroll
    for (int j = 0; j < 8; ++j) {
      const float c = cos_of[i + j], s = sin_of[i + j];
      o1[j] = x1[j] * c - x2[j] * s;
      o2[j] = x1[j] * s + x2[j] * c;
    }
    T* dst = slot < p.heads ? p.q_out + (static_cast<long long>(r) * p.heads + slot) * p.head_dim
                            : p.k_cache + pos * kv_width + (slot - p.heads) * p.head_dim;
    store8(dst + i, o1);
    store8(dst + i + half, o2);
  }
}

}  // namespace

template <typename T>
void rotary_qkv_to_cache(const RotaryCacheParams<T>& p, cudaStream_t stream) {
  if (p.head_dim % 2 != 0) throw std::invalid_argument("rotary: head_dim must be even");
  const long long n = static_cast<long long>(p.rows) * (p.heads + 2 * p.kv_heads) * (p.head_dim / 2);
  if (n == 0) return;
  if (p.head_dim % 16 == 0 && p.head_dim / 2 <= kMaxHalf && aligned16(p.qkv) && aligned16(p.q_out) &&
      aligned16(p.k_cache) && aligned16(p.v_cache)) {
    launch_overlapping_previous(rotary_row_kernel<T>, p.rows, kRowThreads, stream, p);
  } else {
    rotary_kernel<T><<<static_cast<unsigned>((n + 255) / 256), 256, 0, stream>>>(p);
  }
  HD_CHECK_LAUNCH();
}

template void rotary_qkv_to_cache<float>(const RotaryCacheParams<float>&, cudaStream_t);
template void rotary_qkv_to_cache<__nv_bfloat16>(const RotaryCacheParams<__nv_bfloat16>&, cudaStream_t);

}  // namespace hd
