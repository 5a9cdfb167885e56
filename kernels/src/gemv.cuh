#pragma once
// One-row bf16 matrix-vector product (see gemv.cu), used by linear() and linear_bias_bf16() when
// rows == 1.
#include <cuda_bf16.h>
#include <cuda_runtime_api.h>

#include "hd/kernels/elementwise.h"

namespace hd {

// True when x and w are 16-byte aligned and `in` is a multiple of 8.
bool gemv_bf16_applies(const void* x, const void* w, int in);
// bias: nullptr, or `out` values added to the product (after rounding it to bf16 when y is bf16).
void gemv_bf16(const __nv_bfloat16* x, const __nv_bfloat16* w, const __nv_bfloat16* bias, void* y, bool y_float,
               int in, int out, cudaStream_t stream);
// y[inner] = act(x * w[0:inner]^T) * (x * w[inner:2*inner]^T), w = [2 * inner, in] (needs what
// gemv_bf16_applies checks, and y 2-byte aligned).
void gemv_gated_bf16(const __nv_bfloat16* x, const __nv_bfloat16* w, __nv_bfloat16* y, int in, int inner,
                     GateActivation act, cudaStream_t stream);

}  // namespace hd
