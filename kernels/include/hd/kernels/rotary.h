#pragma once
// Rotary position embedding on the fused qkv projection, writing q for attention and k, v
// into the KV cache at their absolute positions. Halves rotated (non-interleaved), over the
// whole head dim; angles formed as flash-attn does: float32(position / scaling) * inv_freq[i]
// with inv_freq[i] = 1 / base^(2i / head_dim) in float32, then cos/sin.
#include <cuda_bf16.h>
#include <cuda_runtime_api.h>

namespace hd {

template <typename T>
struct RotaryCacheParams {
  const T* qkv = nullptr;   // [rows, (heads + 2*kv_heads) * head_dim]: all q heads, then k heads, then v heads
  T* q_out = nullptr;       // [rows, heads * head_dim]
  T* k_cache = nullptr;     // [capacity, kv_heads * head_dim]; row first_position + r is written
  T* v_cache = nullptr;     // [capacity, kv_heads * head_dim]
  int rows = 0, heads = 0, kv_heads = 0, head_dim = 0;
  long long first_position = 0;
  const long long* device_position = nullptr;  // when set, read first_position here (CUDA graph replays)
  float base = 10000.f;
  double scaling = 1.0;     // linear position interpolation
};

template <typename T>
void rotary_qkv_to_cache(const RotaryCacheParams<T>& p, cudaStream_t stream);

}  // namespace hd
