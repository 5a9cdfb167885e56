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

namespace hd {
namespace {

constexpr int kWarps = 8;

template <typename Out>
__device__ __forceinline__ Out store_as(float v);
template <>
__device__ __forceinline__ float store_as<float>(float v) { return v; }
template <>
__device__ __forceinline__ __nv_bfloat16 store_as<__nv_bfloat16>(float v) { return __float2bfloat16(v); }

template <typename Out>
__global__ void __launch_bounds__(kWarps * 32) gemv_kernel(const __nv_bfloat16* x, const __nv_bfloat16* w, Out* y,
                                                            const __nv_bfloat16* bias, int in, int out) {
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int row = blockIdx.x * kWarps + warp;
  if (row >= out) return;
  const uint4* wr = reinterpret_cast<const uint4*>(w + static_cast<long long>(row) * in);
  const uint4* xr = reinterpret_cast<const uint4*>(x);
  float acc = 0.f;
#pragma unroll 4
  for (int c = lane; c < in / 8; c += 32) {
    const uint4 wv = wr[c], xv = xr[c];
    const __nv_bfloat162* w2 = reinterpret_cast<const __nv_bfloat162*>(&wv);
    const __nv_bfloat162* x2 = reinterpret_cast<const __nv_bfloat162*>(&xv);
#pragma unroll
    for (int k = 0; k < 4; ++k) {
      const float2 a = __bfloat1622float2(w2[k]), b = __bfloat1622float2(x2[k]);
      acc += a.x * b.x + a.y * b.y;
    }
  }
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
  float acc_a = 0.f, acc_b = 0.f;
#pragma unroll 2
  for (int c = lane; c < in / 8; c += 32) {
    const uint4 av = wa[c], bv = wb[c], xv = xr[c];
    const __nv_bfloat162* a2 = reinterpret_cast<const __nv_bfloat162*>(&av);
    const __nv_bfloat162* b2 = reinterpret_cast<const __nv_bfloat162*>(&bv);
    const __nv_bfloat162* x2 = reinterpret_cast<const __nv_bfloat162*>(&xv);
#pragma unroll
    for (int k = 0; k < 4; ++k) {
      const float2 a = __bfloat1622float2(a2[k]), b = __bfloat1622float2(b2[k]), xx = __bfloat1622float2(x2[k]);
      acc_a += a.x * xx.x + a.y * xx.y;
      acc_b += b.x * xx.x + b.y * xx.y;
    }
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
  if (y_float) gemv_kernel<float><<<grid, kWarps * 32, 0, stream>>>(x, w, static_cast<float*>(y), bias, in, out);
  else gemv_kernel<__nv_bfloat16><<<grid, kWarps * 32, 0, stream>>>(x, w, static_cast<__nv_bfloat16*>(y), bias, in, out);
  HD_CHECK_LAUNCH();
}

void gemv_gated_bf16(const __nv_bfloat16* x, const __nv_bfloat16* w, __nv_bfloat16* y, int in, int inner,
                     GateActivation act, cudaStream_t stream) {
  const unsigned grid = static_cast<unsigned>((inner + kWarps - 1) / kWarps);
  gemv_gated_kernel<<<grid, kWarps * 32, 0, stream>>>(x, w, y, in, inner, act);
  HD_CHECK_LAUNCH();
}

}  // namespace hd
