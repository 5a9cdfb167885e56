// y[out] = x[in] * w[out, in]^T (+ bias[out]) for one row (decode): a warp per output row,
// 16-byte loads of the weight row across the warp, float32 accumulation. Reads each weight once,
// which is all a one-token step can do; cuBLAS's general kernels leave bandwidth unused at n = 1.
// The bias rides in the epilogue: a decode step has ~400 launches that move almost no bytes, and a
// separate bias pass was 32 of them (bench/results/attention-fa3-speed-and-peers-h200-b9a0492.md).
#include <cuda_bf16.h>

#include <type_traits>

#include "gate_activation.cuh"
#include "gemv.cuh"
#include "hd/kernels/cuda_check.h"
#include "overlapped_launch.cuh"

namespace hd {
namespace {

constexpr int kWarps = 8;

template <typename Out>
__device__ __forceinline__ Out store_as(float v);
template <>
__device__ __forceinline__ float store_as<float>(float v) { return v; }
template <>
__device__ __forceinline__ __nv_bfloat16 store_as<__nv_bfloat16>(float v) { return __float2bfloat16(v); }

// Bytes in flight decide a one-row GEMV's speed: with 4 loads of 16 bytes a lane, the layers
// that fill one partial wave (4096 or 14336 wide, 512 blocks) read 2.7-3.4 TB/s where the MLP's
// 28672 rows read 4.0 (decode profile, bench/results/attention-fa3-speed-and-peers-h200-b9a0492.md).
// kUnroll weight loads a lane are issued before any is used. The products are summed in the same
// order as one load at a time, so the results do not change.
constexpr int kUnroll = 8;

// acc += the dot product of 8 bf16 weights and 8 bf16 inputs, pair by pair.
__device__ __forceinline__ void dot8(uint4 wv, uint4 xv, float& acc) {
  const __nv_bfloat162* w2 = reinterpret_cast<const __nv_bfloat162*>(&wv);
  const __nv_bfloat162* x2 = reinterpret_cast<const __nv_bfloat162*>(&xv);
#pragma unroll
  for (int k = 0; k < 4; ++k) {
    const float2 a = __bfloat1622float2(w2[k]), b = __bfloat1622float2(x2[k]);
    acc += a.x * b.x + a.y * b.y;
  }
}

// Lane `lane`'s share of row `wr` times x: chunks lane, lane + 32, ... in order. The first
// kUnroll weight loads are issued before waiting for the previous kernel (which writes x): the
// weights are constant, so their first bytes arrive while that kernel finishes.
__device__ __forceinline__ float row_dot(const uint4* wr, const uint4* xr, int chunks, int lane) {
  float acc = 0.f;
  int c = lane;
  uint4 wv[kUnroll];
  const bool first_full = c + 32 * (kUnroll - 1) < chunks;
  if (first_full) {
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) wv[u] = wr[c + 32 * u];
  }
  wait_for_previous_kernel();
  allow_next_kernel_to_start();
  for (bool loaded = first_full; c + 32 * (kUnroll - 1) < chunks; c += 32 * kUnroll, loaded = false) {
    if (!loaded) {
#pragma unroll
      for (int u = 0; u < kUnroll; ++u) wv[u] = wr[c + 32 * u];
    }
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const uint4 xv = xr[c + 32 * u];  // a 16-byte load (passed by reference it became eight 4-byte ones)
      dot8(wv[u], xv, acc);
    }
  }
  for (; c < chunks; c += 32) {
    const uint4 wv1 = wr[c], xv = xr[c];
    dot8(wv1, xv, acc);
  }
  return acc;
}

template <typename Out>
__global__ void __launch_bounds__(kWarps * 32) gemv_kernel(const __nv_bfloat16* x, const __nv_bfloat16* w, Out* y,
                                                            const __nv_bfloat16* bias, int in, int out) {
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int row = blockIdx.x * kWarps + warp;
  if (row >= out) return;
  const uint4* wr = reinterpret_cast<const uint4*>(w + static_cast<long long>(row) * in);
  float acc = row_dot(wr, reinterpret_cast<const uint4*>(x), in / 8, lane);
  for (int o = 16; o > 0; o /= 2) acc += __shfl_xor_sync(0xffffffffu, acc, o);
  if (lane == 0) {
    if (bias) {
      // As the two-step form rounds: the product to the output type, then the sum.
      if constexpr (std::is_same_v<Out, __nv_bfloat16>) acc = __bfloat162float(__float2bfloat16(acc));
      acc += __bfloat162float(bias[row]);
    }
    y[row] = store_as<Out>(acc);
  }
}

// The MLP's first layer and its gate in one pass: w is l1 over l2 ([2 * inner, in]); the warp
// of output j reads rows j and inner + j, and y[j] = act(a) * b with a and b rounded to bf16 as
// the separate GEMV and gate pass round them. Saves the gate's launch (32 a 7B decode step) and
// the round trip of the [2 * inner] product through memory.
__global__ void __launch_bounds__(kWarps * 32) gemv_gated_kernel(const __nv_bfloat16* x, const __nv_bfloat16* w,
                                                                  __nv_bfloat16* y, int in, int inner,
                                                                  GateActivation act) {
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int row = blockIdx.x * kWarps + warp;
  if (row >= inner) return;
  const uint4* wa = reinterpret_cast<const uint4*>(w + static_cast<long long>(row) * in);
  const uint4* wb = reinterpret_cast<const uint4*>(w + static_cast<long long>(inner + row) * in);
  const uint4* xr = reinterpret_cast<const uint4*>(x);
  // Both rows' loads issued before any is used (kUnroll / 2 chunks of each), sums in chunk order.
  constexpr int kHalf = kUnroll / 2;
  const int chunks = in / 8;
  float acc_a = 0.f, acc_b = 0.f;
  int c = lane;
  uint4 av[kHalf], bv[kHalf];
  const bool first_full = c + 32 * (kHalf - 1) < chunks;
  if (first_full) {  // before the wait, as in row_dot
#pragma unroll
    for (int u = 0; u < kHalf; ++u) {
      av[u] = wa[c + 32 * u];
      bv[u] = wb[c + 32 * u];
    }
  }
  wait_for_previous_kernel();
  allow_next_kernel_to_start();
  for (bool loaded = first_full; c + 32 * (kHalf - 1) < chunks; c += 32 * kHalf, loaded = false) {
    if (!loaded) {
#pragma unroll
      for (int u = 0; u < kHalf; ++u) {
        av[u] = wa[c + 32 * u];
        bv[u] = wb[c + 32 * u];
      }
    }
#pragma unroll
    for (int u = 0; u < kHalf; ++u) {
      const uint4 xv = xr[c + 32 * u];
      dot8(av[u], xv, acc_a);
      dot8(bv[u], xv, acc_b);
    }
  }
  for (; c < chunks; c += 32) {
    const uint4 av = wa[c], bv = wb[c], xv = xr[c];
    dot8(av, xv, acc_a);
    dot8(bv, xv, acc_b);
  }
  for (int o = 16; o > 0; o /= 2) {
    acc_a += __shfl_xor_sync(0xffffffffu, acc_a, o);
    acc_b += __shfl_xor_sync(0xffffffffu, acc_b, o);
  }
  if (lane == 0) {
    const float a = __bfloat162float(__float2bfloat16(acc_a)), b = __bfloat162float(__float2bfloat16(acc_b));
    y[row] = __float2bfloat16(gate_activation(a, act) * b);
  }
}

}  // namespace

bool gemv_bf16_applies(const void* x, const void* w, int in) {
  return in % 8 == 0 && reinterpret_cast<uintptr_t>(x) % 16 == 0 && reinterpret_cast<uintptr_t>(w) % 16 == 0;
}

void gemv_bf16(const __nv_bfloat16* x, const __nv_bfloat16* w, const __nv_bfloat16* bias, void* y, bool y_float,
               int in, int out, cudaStream_t stream) {
  const unsigned grid = static_cast<unsigned>((out + kWarps - 1) / kWarps);
  if (y_float) {
    launch_overlapping_previous(gemv_kernel<float>, grid, kWarps * 32, stream, x, w, static_cast<float*>(y), bias, in, out);
  } else {
    launch_overlapping_previous(gemv_kernel<__nv_bfloat16>, grid, kWarps * 32, stream, x, w,
                                static_cast<__nv_bfloat16*>(y), bias, in, out);
  }
}

void gemv_gated_bf16(const __nv_bfloat16* x, const __nv_bfloat16* w, __nv_bfloat16* y, int in, int inner,
                     GateActivation act, cudaStream_t stream) {
  const unsigned grid = static_cast<unsigned>((inner + kWarps - 1) / kWarps);
  launch_overlapping_previous(gemv_gated_kernel, grid, kWarps * 32, stream, x, w, y, in, inner, act);
}

}  // namespace hd
