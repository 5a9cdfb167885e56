#include <stdexcept>

#include "hd/kernels/cuda_check.h"
#include "hd/kernels/rotary.h"
#include "numeric.cuh"

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

}  // namespace

template <typename T>
void rotary_qkv_to_cache(const RotaryCacheParams<T>& p, cudaStream_t stream) {
  if (p.head_dim % 2 != 0) throw std::invalid_argument("rotary: head_dim must be even");
  const long long n = static_cast<long long>(p.rows) * (p.heads + 2 * p.kv_heads) * (p.head_dim / 2);
  if (n == 0) return;
  rotary_kernel<T><<<static_cast<unsigned>((n + 255) / 256), 256, 0, stream>>>(p);
  HD_CHECK_LAUNCH();
}

template void rotary_qkv_to_cache<float>(const RotaryCacheParams<float>&, cudaStream_t);
template void rotary_qkv_to_cache<__nv_bfloat16>(const RotaryCacheParams<__nv_bfloat16>&, cudaStream_t);

}  // namespace hd
