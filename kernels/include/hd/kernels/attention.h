#pragma once
// Causal grouped-query attention of a chunk of queries over the KV cache.
#include <cuda_bf16.h>
#include <cuda_runtime_api.h>

#include <cstddef>

namespace hd {

template <typename T>
struct AttentionParams {
  const T* q = nullptr;        // [rows, heads * head_dim], rotary applied
  const T* k_cache = nullptr;  // [>= first_position + rows, kv_heads * head_dim]
  const T* v_cache = nullptr;
  T* out = nullptr;            // [rows, heads * head_dim]
  int rows = 0, heads = 0, kv_heads = 0, head_dim = 0;  // head_dim <= 256; heads % kv_heads == 0
  long long first_position = 0;  // query r sits at first_position + r and sees keys [0, first_position + r]
  // One-row calls only: read first_position from device memory, and size the work for up to
  // `capacity` keys, so one launch configuration serves every step (CUDA graph replays).
  const long long* device_position = nullptr;
  long long capacity = 0;
  // One-row calls: caller-owned scratch of attention_decode_scratch_floats() floats (graph
  // replays need fixed addresses), zeroed once when allocated (it holds counters the kernel
  // leaves at zero); when null, the launcher keeps its own.
  float* decode_scratch = nullptr;
};

// Scratch a one-row call over up to `keys` keys needs.
std::size_t attention_decode_scratch_floats(int heads, int head_dim, long long keys);

// Which kernel serves a multi-row bf16 call. automatic: on Hopper (sm_90) with head_dim 128 the
// wgmma kernel fed by TMA with FlashAttention-3's intra-warpgroup overlap (wgmma_overlap: 696
// against 609 TFLOP/s for the plain ping-pong `wgmma` at 32k on an H200,
// bench/results/attention-fa3-speed-and-peers-h200-b9a0492.md), else the mma.sync
// FlashAttention-2 kernel for head_dim 64/128, else the exact warp kernel. Tests and benchmarks
// name one to compare them; a kernel the device or shape cannot run throws.
enum class AttentionKernel { automatic, wgmma, wgmma_overlap, fa2, warp };

// softmax(q k^T / sqrt(head_dim)) v with float32 scores and accumulation; q head h reads
// kv head h / (heads / kv_heads).
template <typename T>
void causal_attention(const AttentionParams<T>& p, cudaStream_t stream,
                      AttentionKernel kernel = AttentionKernel::automatic);

// True when the current device can run the wgmma kernel (compute capability 9.0).
bool attention_wgmma_available();

}  // namespace hd
