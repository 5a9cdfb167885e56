#pragma once
// Attention for a single query row (decode) over a long cache, split across the keys
// ("flash-decoding"): block (kv head, split) loads its key range once, in coalesced tiles
// through shared memory, for all q heads of the group, and writes a partial (max, sum,
// weighted values); the splits are merged per head (by a second kernel for the generic kernel,
// by the last block to finish for the bf16 head-dim-128 kernel).
// The keys are divided by the number of keys present at run time, not by the grid's capacity:
// a CUDA graph captured for a 128k-token cache replays at 8k tokens with every split busy (a
// profile showed a graph sized for capacity spending 69 us a layer in each kernel at 8k).
#include <cuda_bf16.h>

#include <type_traits>

#include "hd/kernels/attention.h"
#include "numeric.cuh"
#include "overlapped_launch.cuh"

namespace hd::attention_detail {

constexpr int kDecodeThreads = 128, kDecodeTile = 16, kMaxGroup = 8, kMaxDecodeDim = 256;  // 41 KB of shared memory
constexpr int kMaxSplits = 256;

// Partial results: [heads, splits] of (m, l) and [heads, splits, head_dim] of acc.
constexpr long long kMinKeysPerSplit = 64;

// Keys one split covers when `keys` keys are spread over `splits` splits.
__device__ __forceinline__ long long split_size(long long keys, int splits) {
  return max(kMinKeysPerSplit, (keys + splits - 1) / splits);
}

template <typename T>
__global__ void __launch_bounds__(kDecodeThreads)
    decode_split_kernel(AttentionParams<T> p, int splits, float* part_ml, float* part_acc) {
  const int kvh = blockIdx.x, split = blockIdx.y, d = p.head_dim;
  const int group = p.heads / p.kv_heads, kv_width = p.kv_heads * d;
  const long long keys = (p.device_position ? *p.device_position : p.first_position) + 1;  // one query row
  const long long keys_per_split = split_size(keys, splits);
  const long long k0 = split * keys_per_split, k1 = min(keys, k0 + keys_per_split);
  if (k0 >= k1) return;  // past the keys present: the merge reads only the splits that have keys
  __shared__ float q_s[kMaxGroup][kMaxDecodeDim];
  __shared__ float k_s[kDecodeTile][kMaxDecodeDim + 1];  // +1: conflict-free column reads
  __shared__ float v_s[kDecodeTile][kMaxDecodeDim];
  __shared__ float w_s[kMaxGroup][kDecodeTile];
  const float scale = rsqrtf(static_cast<float>(d));
  for (int i = threadIdx.x; i < group * d; i += blockDim.x) {
    const int g = i / d, j = i % d;
    q_s[g][j] = to_f32(p.q[(kvh * group + g) * d + j]) * scale;
  }
  // Per (group head): running max and sum live in thread g's registers broadcast via smem.
  __shared__ float m_s[kMaxGroup], l_s[kMaxGroup], corr_s[kMaxGroup];
  if (threadIdx.x < group) {
    m_s[threadIdx.x] = -INFINITY;
    l_s[threadIdx.x] = 0.f;
  }
  // Each thread owns accumulators for (g, dims) pairs: g * d + dim = threadIdx.x + k * 128.
  float acc[kMaxGroup * kMaxDecodeDim / kDecodeThreads];
  const int owned = (group * d + kDecodeThreads - 1) / kDecodeThreads;
  for (int k = 0; k < owned; ++k) acc[k] = 0.f;
  __syncthreads();

  for (long long t0 = k0; t0 < k1; t0 += kDecodeTile) {
    const int n = static_cast<int>(min(static_cast<long long>(kDecodeTile), k1 - t0));
    bool loaded = false;
    if constexpr (std::is_same_v<T, __nv_bfloat16>) {
      if (d % 8 == 0) {  // 16-byte loads: 8 values per thread and matrix
        loaded = true;
        for (int i = threadIdx.x; i < kDecodeTile * d / 8; i += blockDim.x) {
          const int r = (i * 8) / d, j = (i * 8) % d;
          uint4 kv = make_uint4(0, 0, 0, 0), vv = make_uint4(0, 0, 0, 0);
          if (r < n) {
            kv = *reinterpret_cast<const uint4*>(p.k_cache + (t0 + r) * kv_width + kvh * d + j);
            vv = *reinterpret_cast<const uint4*>(p.v_cache + (t0 + r) * kv_width + kvh * d + j);
          }
          const __nv_bfloat162* k2 = reinterpret_cast<const __nv_bfloat162*>(&kv);
          const __nv_bfloat162* v2 = reinterpret_cast<const __nv_bfloat162*>(&vv);
          for (int e = 0; e < 4; ++e) {
            const float2 kf = __bfloat1622float2(k2[e]), vf = __bfloat1622float2(v2[e]);
            k_s[r][j + 2 * e] = kf.x;
            k_s[r][j + 2 * e + 1] = kf.y;
            v_s[r][j + 2 * e] = vf.x;
            v_s[r][j + 2 * e + 1] = vf.y;
          }
        }
      }
    }
    if (!loaded) {
      for (int i = threadIdx.x; i < kDecodeTile * d; i += blockDim.x) {
        const int r = i / d, j = i % d;
        const bool in = r < n;
        k_s[r][j] = in ? to_f32(p.k_cache[(t0 + r) * kv_width + kvh * d + j]) : 0.f;
        v_s[r][j] = in ? to_f32(p.v_cache[(t0 + r) * kv_width + kvh * d + j]) : 0.f;
      }
    }
    __syncthreads();
    // Scores: thread (g, r) for g < group, r < 32.
    for (int i = threadIdx.x; i < group * kDecodeTile; i += blockDim.x) {
      const int g = i / kDecodeTile, r = i % kDecodeTile;
      float dot = -INFINITY;
      if (r < n) {
        dot = 0.f;
        for (int j = 0; j < d; ++j) dot += q_s[g][j] * k_s[r][j];
      }
      w_s[g][r] = dot;
    }
    __syncthreads();
    if (threadIdx.x < group) {  // one thread per head: tile max, rescale factor, weights
      const int g = threadIdx.x;
      float tile_max = -INFINITY;
      for (int r = 0; r < n; ++r) tile_max = fmaxf(tile_max, w_s[g][r]);
      const float m_new = fmaxf(m_s[g], tile_max);
      const float corr = m_s[g] == -INFINITY ? 0.f : __expf(m_s[g] - m_new);
      float sum = 0.f;
      for (int r = 0; r < kDecodeTile; ++r) {
        const float w = r < n ? __expf(w_s[g][r] - m_new) : 0.f;
        w_s[g][r] = w;
        sum += w;
      }
      m_s[g] = m_new;
      l_s[g] = l_s[g] * corr + sum;
      corr_s[g] = corr;
    }
    __syncthreads();
    for (int k = 0; k < owned; ++k) {
      const int idx = threadIdx.x + k * kDecodeThreads;
      if (idx >= group * d) break;
      const int g = idx / d, j = idx % d;
      float a = acc[k] * corr_s[g];
      for (int r = 0; r < n; ++r) a += w_s[g][r] * v_s[r][j];
      acc[k] = a;
    }
    __syncthreads();
  }
  for (int k = 0; k < owned; ++k) {
    const int idx = threadIdx.x + k * kDecodeThreads;
    if (idx >= group * d) break;
    const int g = idx / d, j = idx % d, h = kvh * group + g;
    part_acc[(static_cast<long long>(h) * splits + split) * d + j] = acc[k];
  }
  if (threadIdx.x < group) {
    const int h = kvh * group + threadIdx.x;
    part_ml[(h * splits + split) * 2] = m_s[threadIdx.x];
    part_ml[(h * splits + split) * 2 + 1] = l_s[threadIdx.x];
  }
}

// The same attention, faster, for bf16 caches with head_dim 128 and a group of G query heads
// per kv head (G in 1, 2, 4, 8): each warp takes batches of 32 / G keys; lane l holds dims
// 4l..4l+3 of q (all G heads), of each key and of the output accumulators. The G x (32/G)
// partial dot products are summed across the warp by a halving butterfly (31 shuffles for 32
// sums) that leaves score (head l / (32/G), key l % (32/G)) in lane l. Each warp loads its next
// batch before it works on the current one (G >= 2), so a warp always has a batch in flight. The 4 warps
// of a block merge through shared memory; the last block of a kv head to finish (a ticket
// counter in the scratch) merges the splits, so one launch does the whole layer. (Earlier: 64-key
// splits merged by a second kernel read the 8k-token cache at 1.6 TB/s, 20.8 + 13.3 us a layer
// in the 8k profile of bench/results/attention-fa3-speed-and-peers-h200-b9a0492.md.)
// One butterfly step: lanes with bit W set keep the upper W of their 2W values, the others the
// lower W, and each adds what its partner (lane ^ W) gives up. Compile-time W keeps `part` in
// registers.
template <int W>
__device__ __forceinline__ void halve_across_lanes(float (&part)[32], int lane) {
  const bool upper = (lane & W) != 0;
#pragma unroll
  for (int j = 0; j < W; ++j) {
    const float send = upper ? part[j] : part[j + W];
    const float keep = upper ? part[j + W] : part[j];
    part[j] = keep + __shfl_xor_sync(0xffffffffu, send, W);
  }
}

__device__ __forceinline__ void bf16x4_to_float(uint2 raw, float (&out)[4]) {
  const float2 a = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&raw.x));
  const float2 b = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&raw.y));
  out[0] = a.x, out[1] = a.y, out[2] = b.x, out[3] = b.y;
}

// Merges the `active` splits of kv head kvh's G query heads into p.out. Runs in the last block
// of the kv head; the partials of the other blocks are read past L1 (__ldcg), which may hold
// nothing of theirs. m is in log2 units.
template <int G>
__device__ void merge_splits(const AttentionParams<__nv_bfloat16>& p, int kvh, int splits, int active,
                             const float* part_ml, const float* part_acc) {
  constexpr int D = 128, kWarpsPerBlock = kDecodeThreads / 32;
  __shared__ float weight[G][kMaxSplits];
  __shared__ float inv_total[G];
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  for (int g = warp; g < G; g += kWarpsPerBlock) {
    const float* ml = part_ml + static_cast<long long>(kvh * G + g) * splits * 2;
    float m = -INFINITY;
    for (int s = lane; s < active; s += 32) m = fmaxf(m, __ldcg(ml + 2 * s));
    for (int o = 16; o > 0; o /= 2) m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, o));
    float l = 0.f;
    for (int s = lane; s < active; s += 32) {
      const float ms = __ldcg(ml + 2 * s);
      const float w = ms == -INFINITY ? 0.f : exp2f(ms - m);
      weight[g][s] = w;
      l += __ldcg(ml + 2 * s + 1) * w;
    }
    for (int o = 16; o > 0; o /= 2) l += __shfl_xor_sync(0xffffffffu, l, o);
    if (lane == 0) inv_total[g] = 1.f / l;
  }
  __syncthreads();
  for (int i = threadIdx.x; i < G * D / 4; i += kDecodeThreads) {
    const int g = (4 * i) / D, j = (4 * i) % D, h = kvh * G + g;
    const float4* acc = reinterpret_cast<const float4*>(part_acc + static_cast<long long>(h) * splits * D + j);
    float4 a = make_float4(0.f, 0.f, 0.f, 0.f);
#pragma unroll 16  // the loads of 16 splits in flight: this tail is latency, not bandwidth
    for (int s = 0; s < active; ++s) {
      const float4 v = __ldcg(acc + static_cast<long long>(s) * (D / 4));
      const float w = weight[g][s];
      a.x += v.x * w, a.y += v.y * w, a.z += v.z * w, a.w += v.w * w;
    }
    const float inv = inv_total[g];
    __nv_bfloat162 lo = __floats2bfloat162_rn(a.x * inv, a.y * inv), hi = __floats2bfloat162_rn(a.z * inv, a.w * inv);
    uint2 packed;
    packed.x = *reinterpret_cast<unsigned*>(&lo);
    packed.y = *reinterpret_cast<unsigned*>(&hi);
    *reinterpret_cast<uint2*>(p.out + h * D + j) = packed;
  }
}

// done: one zeroed counter per kv head; the merging block sets it back to zero, so the next
// call (the next layer, the next graph replay) finds it zero.
template <int G>
__global__ void __launch_bounds__(kDecodeThreads)
    decode_warp_kernel(AttentionParams<__nv_bfloat16> p, int splits, float* part_ml, float* part_acc,
                       unsigned* done) {
  constexpr int D = 128, KB = 32 / G, kWarpsPerBlock = kDecodeThreads / 32, kStride = kWarpsPerBlock * KB;
  allow_next_kernel_to_start();  // the output projection's GEMV follows
  wait_for_previous_kernel();
  const int kvh = blockIdx.x, split = blockIdx.y, warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int kv_width = p.kv_heads * D;
  const long long keys = (p.device_position ? *p.device_position : p.first_position) + 1;
  const long long keys_per_split = split_size(keys, splits);
  const int active = static_cast<int>((keys + keys_per_split - 1) / keys_per_split);
  const long long k0 = split * keys_per_split, k1 = min(keys, k0 + keys_per_split);
  if (k0 >= k1) return;  // past the keys present: neither counted nor merged
  const float scale_log2 = rsqrtf(static_cast<float>(D)) * 1.4426950408889634f;

  const __nv_bfloat16* kbase = p.k_cache + kvh * D + 4 * lane;
  const __nv_bfloat16* vbase = p.v_cache + kvh * D + 4 * lane;
  // Keys past the split reread its last key (masked below), so every load is in bounds.
  auto load_batch = [&](long long t0, uint2 (&kr)[KB], uint2 (&vr)[KB]) {
#pragma unroll
    for (int k = 0; k < KB; ++k) {
      const long long key = min(t0 + k, k1 - 1);
      kr[k] = *reinterpret_cast<const uint2*>(kbase + key * kv_width);
      vr[k] = *reinterpret_cast<const uint2*>(vbase + key * kv_width);
    }
  };
  // Prefetching holds a second batch in registers: with G = 1 (32 keys a batch) that spilled.
  constexpr bool kPrefetch = G >= 2;
  long long t0 = k0 + static_cast<long long>(warp) * KB;
  uint2 k_raw[KB], v_raw[KB];
  if constexpr (kPrefetch) load_batch(t0, k_raw, v_raw);

  float q[G][4];
  for (int g = 0; g < G; ++g) {
    bf16x4_to_float(*reinterpret_cast<const uint2*>(p.q + (kvh * G + g) * D + 4 * lane), q[g]);
    for (int e = 0; e < 4; ++e) q[g][e] *= scale_log2;
  }
  float m_run[G], l_run[G], acc[G][4];
  for (int g = 0; g < G; ++g) {
    m_run[g] = -INFINITY;
    l_run[g] = 0.f;
    acc[g][0] = acc[g][1] = acc[g][2] = acc[g][3] = 0.f;
  }

  for (; t0 < k1; t0 += kStride) {
    if constexpr (!kPrefetch) load_batch(t0, k_raw, v_raw);
    float kv[KB][4], vv[KB][4];
#pragma unroll
    for (int k = 0; k < KB; ++k) {
      bf16x4_to_float(k_raw[k], kv[k]);
      bf16x4_to_float(v_raw[k], vv[k]);
    }
    if constexpr (kPrefetch) load_batch(t0 + kStride, k_raw, v_raw);  // in flight while this batch is used
    // 32 partial dot products, index g * KB + k, summed across lanes by halving.
    float part[32];
    for (int g = 0; g < G; ++g) {
      for (int k = 0; k < KB; ++k) {
        part[g * KB + k] = q[g][0] * kv[k][0] + q[g][1] * kv[k][1] + q[g][2] * kv[k][2] + q[g][3] * kv[k][3];
      }
    }
    halve_across_lanes<16>(part, lane);
    halve_across_lanes<8>(part, lane);
    halve_across_lanes<4>(part, lane);
    halve_across_lanes<2>(part, lane);
    halve_across_lanes<1>(part, lane);
    const int my_key = lane % KB;
    const float score = t0 + my_key < k1 ? part[0] : -INFINITY;  // head lane / KB, key my_key

    // Online softmax per head over this batch (the KB lanes of a head hold its scores).
    float batch_max = score;
    for (int o = KB / 2; o >= 1; o /= 2) batch_max = fmaxf(batch_max, __shfl_xor_sync(0xffffffffu, batch_max, o));
    float m_new[G];
    for (int g = 0; g < G; ++g) m_new[g] = fmaxf(m_run[g], __shfl_sync(0xffffffffu, batch_max, g * KB));
    float my_max = m_new[0];  // m_new[lane / KB], by selects (an indexed read would go to local memory)
    for (int g = 1; g < G; ++g) my_max = lane / KB == g ? m_new[g] : my_max;
    const float prob = exp2f(score - my_max);
    float batch_sum = prob;
    for (int o = KB / 2; o >= 1; o /= 2) batch_sum += __shfl_xor_sync(0xffffffffu, batch_sum, o);
    for (int g = 0; g < G; ++g) {
      const float corr = m_run[g] == -INFINITY ? 0.f : exp2f(m_run[g] - m_new[g]);
      l_run[g] = l_run[g] * corr + __shfl_sync(0xffffffffu, batch_sum, g * KB);
      m_run[g] = m_new[g];
      for (int e = 0; e < 4; ++e) acc[g][e] *= corr;
      for (int k = 0; k < KB; ++k) {
        const float w = __shfl_sync(0xffffffffu, prob, g * KB + k);
        for (int e = 0; e < 4; ++e) acc[g][e] += w * vv[k][e];
      }
    }
  }

  // Merge the warps of the block and write the split's partial result.
  __shared__ float warp_m[kWarpsPerBlock][G], warp_l[kWarpsPerBlock][G];
  __shared__ float warp_acc[kWarpsPerBlock][G][D];
  if (lane == 0) {
    for (int g = 0; g < G; ++g) {
      warp_m[warp][g] = m_run[g];
      warp_l[warp][g] = l_run[g];
    }
  }
  for (int g = 0; g < G; ++g) {
    for (int e = 0; e < 4; ++e) warp_acc[warp][g][4 * lane + e] = acc[g][e];
  }
  __syncthreads();
  for (int i = threadIdx.x; i < G * D; i += blockDim.x) {
    const int g = i / D, j = i % D, h = kvh * G + g;
    float m = -INFINITY;
    for (int w = 0; w < kWarpsPerBlock; ++w) m = fmaxf(m, warp_m[w][g]);
    float l = 0.f, a = 0.f;
    for (int w = 0; w < kWarpsPerBlock; ++w) {
      const float f = warp_m[w][g] == -INFINITY ? 0.f : exp2f(warp_m[w][g] - m);
      l += warp_l[w][g] * f;
      a += warp_acc[w][g][j] * f;
    }
    part_acc[(static_cast<long long>(h) * splits + split) * D + j] = a;
    if (j == 0) {
      part_ml[(h * splits + split) * 2] = m;
      part_ml[(h * splits + split) * 2 + 1] = l;
    }
  }
  // The last block of this kv head merges: every thread's writes are made visible before the
  // block takes its ticket (the threadFenceReduction pattern of the CUDA samples).
  __threadfence();
  __syncthreads();
  __shared__ bool last;
  if (threadIdx.x == 0) last = atomicAdd(done + kvh, 1u) == static_cast<unsigned>(active - 1);
  __syncthreads();
  if (!last) return;
  __threadfence();
  merge_splits<G>(p, kvh, splits, active, part_ml, part_acc);
  if (threadIdx.x == 0) done[kvh] = 0;
}

// One block per head: the splits' maxima and sums reduced once into shared weights, then each
// thread merges one output dimension across the splits (coalesced over dimensions).
template <typename T>
__global__ void __launch_bounds__(kDecodeThreads)
    decode_merge_kernel(AttentionParams<T> p, int splits, const float* part_ml, const float* part_acc) {
  const int h = blockIdx.x, d = p.head_dim;
  const long long keys = (p.device_position ? *p.device_position : p.first_position) + 1;
  const int active = static_cast<int>((keys + split_size(keys, splits) - 1) / split_size(keys, splits));
  __shared__ float weight[kMaxSplits];
  __shared__ float reduce[kDecodeThreads / 32];
  __shared__ float total_max, total_sum;
  const float* ml = part_ml + static_cast<long long>(h) * splits * 2;

  float m = -INFINITY;
  for (int s = threadIdx.x; s < active; s += blockDim.x) m = fmaxf(m, ml[2 * s]);
  for (int o = 16; o > 0; o /= 2) m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, o));
  if (threadIdx.x % 32 == 0) reduce[threadIdx.x / 32] = m;
  __syncthreads();
  if (threadIdx.x == 0) {
    float v = -INFINITY;
    for (int w = 0; w < kDecodeThreads / 32; ++w) v = fmaxf(v, reduce[w]);
    total_max = v;
  }
  __syncthreads();
  float l = 0.f;
  for (int s = threadIdx.x; s < active; s += blockDim.x) {
    const float w = ml[2 * s] == -INFINITY ? 0.f : __expf(ml[2 * s] - total_max);
    weight[s] = w;
    l += ml[2 * s + 1] * w;
  }
  for (int o = 16; o > 0; o /= 2) l += __shfl_xor_sync(0xffffffffu, l, o);
  __syncthreads();  // reduce[] is reused
  if (threadIdx.x % 32 == 0) reduce[threadIdx.x / 32] = l;
  __syncthreads();
  if (threadIdx.x == 0) {
    float v = 0.f;
    for (int w = 0; w < kDecodeThreads / 32; ++w) v += reduce[w];
    total_sum = v;
  }
  __syncthreads();
  const float* acc = part_acc + static_cast<long long>(h) * splits * d;
  for (int j = threadIdx.x; j < d; j += blockDim.x) {
    float a = 0.f;
    for (int s = 0; s < active; ++s) a += acc[static_cast<long long>(s) * d + j] * weight[s];
    p.out[h * d + j] = from_f32<T>(a / total_sum);
  }
}

}  // namespace hd::attention_detail
