// Causal GQA attention, three kernels by shape:
//   one query row (decode): split-K over the cache (attention_decode.cuh);
//   bf16 chunks with head_dim 128 on Hopper: warpgroup MMA (attention_wgmma.cuh);
//   bf16 chunks with head_dim 64 or 128: FlashAttention-2-style on tensor cores (attention_fa2.cuh);
//   anything else (float32, other head dims): one warp per (query row, head), keys in tiles of
//   32 with an online softmax, exact in float32 (below).
#include <cuda.h>
#include <cudaTypedefs.h>

#include <algorithm>
#include <stdexcept>
#include <type_traits>
#include <string>

#include "hd/kernels/attention.h"
#include "hd/kernels/attention_parts.h"
#include "hd/kernels/cuda_check.h"
#include "hd/kernels/cuda_context.h"
#include "attention_decode.cuh"
#include "attention_fa2.cuh"
#include "attention_wgmma.cuh"
#include "attention_wgmma_overlap.cuh"
#include "attention_wgmma_tma.cuh"
#include "numeric.cuh"

namespace hd {
namespace {

constexpr int kWarps = 4;
constexpr int kMaxDimsPerLane = 8;  // head_dim <= 256

template <typename T>
__global__ void attention_kernel(AttentionParams<T> p) {
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const long long item = static_cast<long long>(blockIdx.x) * kWarps + warp;
  if (item >= static_cast<long long>(p.rows) * p.heads) return;
  const int h = static_cast<int>(item % p.heads), r = static_cast<int>(item / p.heads);
  const int kvh = h / (p.heads / p.kv_heads), d = p.head_dim;
  const int q_width = p.heads * d, kv_width = p.kv_heads * d;
  const float scale = rsqrtf(static_cast<float>(d));

  __shared__ float q_shared[kWarps][256];
  const T* q = p.q + static_cast<long long>(r) * q_width + h * d;
  for (int i = lane; i < d; i += 32) q_shared[warp][i] = to_f32(q[i]) * scale;
  __syncwarp();

  float acc[kMaxDimsPerLane];
  for (int k = 0; k < kMaxDimsPerLane; ++k) acc[k] = 0.f;
  float running_max = -INFINITY, running_sum = 0.f;
  const long long visible = p.first_position + r + 1;
  const T* kbase = p.k_cache + kvh * d;
  const T* vbase = p.v_cache + kvh * d;

  for (long long tile = 0; tile < visible; tile += 32) {
    const long long key = tile + lane;
    float score = -INFINITY;
    if (key < visible) {
      const T* k = kbase + key * kv_width;
      float dot = 0.f;
      for (int i = 0; i < d; ++i) dot += q_shared[warp][i] * to_f32(k[i]);
      score = dot;
    }
    float tile_max = score;
    for (int o = 16; o > 0; o /= 2) tile_max = fmaxf(tile_max, __shfl_xor_sync(0xffffffffu, tile_max, o));
    const float new_max = fmaxf(running_max, tile_max);
    const float correction = __expf(running_max - new_max);  // 0 on the first tile
    const float weight = key < visible ? __expf(score - new_max) : 0.f;
    float tile_sum = weight;
    for (int o = 16; o > 0; o /= 2) tile_sum += __shfl_xor_sync(0xffffffffu, tile_sum, o);
    running_sum = running_sum * correction + tile_sum;
    running_max = new_max;
    for (int k = 0; k < kMaxDimsPerLane; ++k) acc[k] *= correction;
    const int in_tile = static_cast<int>(min(32LL, visible - tile));
    for (int j = 0; j < in_tile; ++j) {
      const float w = __shfl_sync(0xffffffffu, weight, j);
      const T* v = vbase + (tile + j) * kv_width;
      for (int k = 0; k < kMaxDimsPerLane; ++k) {
        const int i = lane + 32 * k;
        if (i < d) acc[k] += w * to_f32(v[i]);
      }
    }
  }
  T* out = p.out + static_cast<long long>(r) * q_width + h * d;
  const float inv = 1.f / running_sum;
  for (int k = 0; k < kMaxDimsPerLane; ++k) {
    const int i = lane + 32 * k;
    if (i < d) out[i] = from_f32<T>(acc[k] * inv);
  }
}

}  // namespace

// One query row (decode). The scratch starts with one counter per head (zero at allocation;
// the fused kernel leaves it zero), then the splits' partials: [heads, splits] of (m, l) and
// [heads, splits, head_dim] of acc, for at most min(kMaxSplits, keys / kMinKeysPerSplit) splits.
// The grid is sized for an upper bound of the keys (a graph's capacity); the kernels divide the
// keys present.
std::size_t decode_counter_floats(int heads) { return static_cast<std::size_t>((heads + 3) / 4 * 4); }

long long max_decode_splits(long long keys) {
  using namespace attention_detail;
  return std::min<long long>(kMaxSplits, (keys + kMinKeysPerSplit - 1) / kMinKeysPerSplit);
}

// The generic kernel: enough splits to give every SM several blocks; at most 256 splits of at
// least 64 keys.
long long generic_keys_per_split(long long keys) {
  using namespace attention_detail;
  return std::max<long long>(kMinKeysPerSplit, (keys + kMaxSplits - 1) / kMaxSplits);
}

// The fused bf16 kernel: as many splits as make one wave of resident blocks over the SMs, so
// each block streams a long key range with a batch always in flight and the merge reads few
// partials.
template <int G>
int wave_splits(int kv_heads) {
  static thread_local int device_seen = -1, wave_blocks = 0;
  int device = 0;
  HD_CUDA_CHECK(cudaGetDevice(&device));
  if (device != device_seen) {
    int sms = 0, per_sm = 0;
    HD_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
    HD_CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, attention_detail::decode_warp_kernel<G>,
                                                                attention_detail::kDecodeThreads, 0));
    wave_blocks = sms * std::max(1, per_sm);
    device_seen = device;
  }
  return std::max(1, wave_blocks / kv_heads);
}

template <int G>
void launch_decode_warp(const AttentionParams<__nv_bfloat16>& p, long long keys, float* scratch, cudaStream_t stream) {
  using namespace attention_detail;
  const int splits = static_cast<int>(std::min<long long>(max_decode_splits(keys), wave_splits<G>(p.kv_heads)));
  auto* done = reinterpret_cast<unsigned*>(scratch);
  float* ml = scratch + decode_counter_floats(p.heads);
  float* acc = ml + static_cast<std::size_t>(p.heads) * splits * 2;
  launch_overlapping_previous(decode_warp_kernel<G>, dim3(p.kv_heads, splits), kDecodeThreads, stream, p, splits, ml,
                              acc, done);
}

template <typename T>
void launch_decode(const AttentionParams<T>& p, cudaStream_t stream) {
  using namespace attention_detail;
  const long long keys = p.device_position ? p.capacity : p.first_position + 1;  // an upper bound in graph mode
  float* scratch = p.decode_scratch;
  if (!scratch) {
    // Without caller scratch: buffers that live as long as the calling thread, sized for the
    // largest call so far (one device per process today), zeroed when made.
    static thread_local DeviceBuffer<float> own;
    const std::size_t need = attention_decode_scratch_floats(p.heads, p.head_dim, keys);
    if (own.size() < need) {
      own = DeviceBuffer<float>(need);
      HD_CUDA_CHECK(cudaMemsetAsync(own.data(), 0, own.bytes(), stream));
    }
    scratch = own.data();
  }
  if constexpr (std::is_same_v<T, __nv_bfloat16>) {
    if (p.head_dim == 128) {
      switch (p.heads / p.kv_heads) {
        case 1: return launch_decode_warp<1>(p, keys, scratch, stream);
        case 2: return launch_decode_warp<2>(p, keys, scratch, stream);
        case 4: return launch_decode_warp<4>(p, keys, scratch, stream);
        case 8: return launch_decode_warp<8>(p, keys, scratch, stream);
        default: break;
      }
    }
  }
  const long long per_split = generic_keys_per_split(keys);
  const int splits = static_cast<int>((keys + per_split - 1) / per_split);
  float* ml = scratch + decode_counter_floats(p.heads);
  float* acc = ml + static_cast<std::size_t>(p.heads) * splits * 2;
  decode_split_kernel<T><<<dim3(p.kv_heads, splits), kDecodeThreads, 0, stream>>>(p, splits, ml, acc);
  HD_CHECK_LAUNCH();
  decode_merge_kernel<T><<<p.heads, kDecodeThreads, 0, stream>>>(p, splits, ml, acc);
  HD_CHECK_LAUNCH();
}

template <int HD>
void launch_fa2(const AttentionParams<__nv_bfloat16>& p, cudaStream_t stream) {
  using namespace attention_detail;
  const int smem = static_cast<int>(sizeof(Fa2Smem<HD>));
  static const bool configured = [&] {  // above 48 KB of shared memory needs an opt-in, once
    HD_CUDA_CHECK(cudaFuncSetAttribute(fa2_kernel<HD>, cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
    return true;
  }();
  (void)configured;
  dim3 grid((p.rows + kFaRows - 1) / kFaRows, p.heads);
  fa2_kernel<HD><<<grid, kFaWarps * 32, smem, stream>>>(p);
  HD_CHECK_LAUNCH();
}

// A 2-D TMA map over the first `keys` rows of a [rows][width] bf16 cache, boxes of 64 columns x
// 128 rows with the 128-byte swizzle; rows past `keys` read as zeros.
CUtensorMap cache_tensor_map(const __nv_bfloat16* cache, long long keys, int width) {
  static PFN_cuTensorMapEncodeTiled_v12000 encode = [] {
    void* fn = nullptr;
    cudaDriverEntryPointQueryResult found{};
    HD_CUDA_CHECK(cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &fn, 12000, cudaEnableDefault, &found));
    if (found != cudaDriverEntryPointSuccess || !fn) throw std::runtime_error("causal_attention: the driver has no cuTensorMapEncodeTiled");
    return reinterpret_cast<PFN_cuTensorMapEncodeTiled_v12000>(fn);
  }();
  CUtensorMap map{};
  const cuuint64_t dims[2] = {static_cast<cuuint64_t>(width), static_cast<cuuint64_t>(keys)};
  const cuuint64_t strides[1] = {static_cast<cuuint64_t>(width) * sizeof(__nv_bfloat16)};
  const cuuint32_t box[2] = {64, static_cast<cuuint32_t>(attention_detail::kWgKeys)};
  const cuuint32_t element_strides[2] = {1, 1};
  const CUresult r = encode(&map, CU_TENSOR_MAP_DATA_TYPE_BFLOAT16, 2, const_cast<__nv_bfloat16*>(cache), dims, strides, box,
                            element_strides, CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_128B,
                            CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  if (r != CUDA_SUCCESS) throw std::runtime_error("causal_attention: cuTensorMapEncodeTiled failed (CUresult " + std::to_string(r) + ")");
  return map;
}

// The Hopper kernels: one block per (head, 128 query rows), TMA maps over the visible keys, the
// shared memory opt-in once per kernel (the kernel is a template argument so that each one,
// variants of one template included, gets its own opt-in).
template <class Smem, auto kernel>
void launch_hopper(const AttentionParams<__nv_bfloat16>& p, cudaStream_t stream) {
  using namespace attention_detail;
  const int smem = static_cast<int>(sizeof(Smem)) + 1024;  // + room to align the ring to 1024 bytes
  static const bool configured = [&] {
    HD_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
    return true;
  }();
  (void)configured;
  const long long keys = p.first_position + p.rows;
  const int width = p.kv_heads * p.head_dim;
  const CUtensorMap k_map = cache_tensor_map(p.k_cache, keys, width), v_map = cache_tensor_map(p.v_cache, keys, width);
  dim3 grid(p.heads, (p.rows + kWgRows - 1) / kWgRows);
  kernel<<<grid, kTmaThreads, smem, stream>>>(p, k_map, v_map);
  HD_CHECK_LAUNCH();
}

void launch_wgmma_tma(const AttentionParams<__nv_bfloat16>& p, cudaStream_t stream) {
  using attention_detail::wgmma_tma_attention_kernel;
  launch_hopper<attention_detail::WgmmaTmaSmem, wgmma_tma_attention_kernel<WgmmaLeaveOut::nothing>>(p, stream);
}

void launch_wgmma_overlap(const AttentionParams<__nv_bfloat16>& p, cudaStream_t stream) {
  launch_hopper<attention_detail::WgmmaOverlapSmem, attention_detail::wgmma_overlap_attention_kernel>(p, stream);
}

void wgmma_attention_leaving_out(const AttentionParams<__nv_bfloat16>& p, cudaStream_t stream, WgmmaLeaveOut part) {
  using attention_detail::WgmmaTmaSmem;
  using attention_detail::wgmma_tma_attention_kernel;
  if (!attention_wgmma_available() || p.head_dim != 128 || p.rows < 1 || p.heads % p.kv_heads != 0) {
    throw std::invalid_argument("wgmma_attention_leaving_out: needs an sm_90 device and head_dim 128");
  }
  switch (part) {
    case WgmmaLeaveOut::nothing: return launch_hopper<WgmmaTmaSmem, wgmma_tma_attention_kernel<WgmmaLeaveOut::nothing>>(p, stream);
    case WgmmaLeaveOut::scores_gemm:
      return launch_hopper<WgmmaTmaSmem, wgmma_tma_attention_kernel<WgmmaLeaveOut::scores_gemm>>(p, stream);
    case WgmmaLeaveOut::softmax: return launch_hopper<WgmmaTmaSmem, wgmma_tma_attention_kernel<WgmmaLeaveOut::softmax>>(p, stream);
    case WgmmaLeaveOut::pv_gemm: return launch_hopper<WgmmaTmaSmem, wgmma_tma_attention_kernel<WgmmaLeaveOut::pv_gemm>>(p, stream);
  }
}

bool attention_wgmma_available() {
  int device = 0, major = 0, minor = 0;
  HD_CUDA_CHECK(cudaGetDevice(&device));
  HD_CUDA_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device));
  HD_CUDA_CHECK(cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device));
  return major == 9 && minor == 0;  // sm_90a machine code is built for exactly this
}

std::size_t attention_decode_scratch_floats(int heads, int head_dim, long long keys) {
  return decode_counter_floats(heads) + static_cast<std::size_t>(heads) * max_decode_splits(keys) * (2 + head_dim);
}

template <typename T>
void causal_attention(const AttentionParams<T>& p, cudaStream_t stream, AttentionKernel kernel) {
  if (p.head_dim <= 0 || p.head_dim > 256 || p.kv_heads <= 0 || p.heads % p.kv_heads != 0) {
    throw std::invalid_argument("causal_attention: unsupported shape (head_dim " + std::to_string(p.head_dim) +
                                ", heads " + std::to_string(p.heads) + ", kv_heads " + std::to_string(p.kv_heads) + ")");
  }
  const long long items = static_cast<long long>(p.rows) * p.heads;
  if (items == 0) return;
  if (p.rows == 1 && p.heads / p.kv_heads <= attention_detail::kMaxGroup && kernel == AttentionKernel::automatic) {
    return launch_decode<T>(p, stream);
  }
  if (p.device_position) throw std::invalid_argument("causal_attention: device_position is for one-row calls");
  if constexpr (std::is_same_v<T, __nv_bfloat16>) {
    static const bool hopper = attention_wgmma_available();
    switch (kernel) {
      case AttentionKernel::automatic:
        // A few rows (decode, short follow-ups) stay on the warp kernel: a 64-row tile would be
        // mostly idle.
        if (p.rows >= 16 && p.head_dim == 128) return hopper ? launch_wgmma_overlap(p, stream) : launch_fa2<128>(p, stream);
        if (p.rows >= 16 && p.head_dim == 64) return launch_fa2<64>(p, stream);
        break;
      case AttentionKernel::wgmma:
        if (!hopper || p.head_dim != 128) throw std::invalid_argument("causal_attention: the wgmma kernel needs an sm_90 device and head_dim 128");
        return launch_wgmma_tma(p, stream);
      case AttentionKernel::wgmma_overlap:
        if (!hopper || p.head_dim != 128) throw std::invalid_argument("causal_attention: the wgmma kernel needs an sm_90 device and head_dim 128");
        return launch_wgmma_overlap(p, stream);
      case AttentionKernel::fa2:
        if (p.head_dim == 128) return launch_fa2<128>(p, stream);
        if (p.head_dim == 64) return launch_fa2<64>(p, stream);
        throw std::invalid_argument("causal_attention: the FA2 kernel needs head_dim 64 or 128");
      case AttentionKernel::warp:
        break;
    }
  } else if (kernel != AttentionKernel::automatic && kernel != AttentionKernel::warp) {
    throw std::invalid_argument("causal_attention: tensor-core kernels take bf16 inputs");
  }
  attention_kernel<T><<<static_cast<unsigned>((items + kWarps - 1) / kWarps), kWarps * 32, 0, stream>>>(p);
  HD_CHECK_LAUNCH();
}

template void causal_attention<float>(const AttentionParams<float>&, cudaStream_t, AttentionKernel);
template void causal_attention<__nv_bfloat16>(const AttentionParams<__nv_bfloat16>&, cudaStream_t, AttentionKernel);

}  // namespace hd
