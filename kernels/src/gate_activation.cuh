#pragma once
// The MLP gate's activation of its first half, shared by the gate pass (elementwise.cu) and the
// gated one-row GEMV (gemv.cu), so the fused decode path and the prompt path compute the same bits.
#include "hd/kernels/elementwise.h"

namespace hd {

__device__ __forceinline__ float gate_activation(float a, GateActivation act) {
  return act == GateActivation::silu ? a / (1.0f + expf(-a)) : 0.5f * a * (1.0f + erff(a * 0.70710678118654752f));
}

}  // namespace hd
