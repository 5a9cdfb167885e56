#pragma once
// Causal grouped-query attention of a chunk of queries over the KV cache.
#include <cuda_bf16.h>
#include <cuda_runtime_api.h>

namespace hd {

template <typename T>
struct AttentionParams {
  const T* q = nullptr;        // [rows, heads * head_dim], rotary applied
  const T* k_cache = nullptr;  // [>= first_position + rows, kv_heads * head_dim]
  const T* v_cache = nullptr;
  T* out = nullptr;            // [rows, heads * head_dim]
  int rows = 0, heads = 0, kv_heads = 0, head_dim = 0;  // head_dim <= 256; heads % kv_heads == 0
  long long first_position = 0;  // query r sits at first_position + r and sees keys [0, first_position + r]
};

// softmax(q k^T / sqrt(head_dim)) v with float32 scores and accumulation; q head h reads
// kv head h / (heads / kv_heads).
template <typename T>
void causal_attention(const AttentionParams<T>& p, cudaStream_t stream);

}  // namespace hd
