#pragma once
// Linear layers on cuBLAS: bf16 operands, float32 accumulation (CUBLAS_COMPUTE_32F).
#include <cublas_v2.h>
#include <cuda_bf16.h>

#include "hd/kernels/elementwise.h"

namespace hd {

// y[rows, out] = x[rows, in] * w[out, in]^T, all row-major bf16, as torch.nn.Linear stores w.
// Runs on the stream bound to `handle`.
void linear_bf16(cublasHandle_t handle, const __nv_bfloat16* x, const __nv_bfloat16* w, __nv_bfloat16* y, int rows,
                 int in, int out);

// The same for any storage types cuBLAS pairs: x and w of `in_type` (CUDA_R_16BF or
// CUDA_R_32F), y of `out_type`; float32 accumulation, never TF32.
void linear(cublasHandle_t handle, const void* x, const void* w, void* y, cudaDataType in_type, cudaDataType out_type,
            int rows, int in, int out);

// y = x * w^T + bias[out], bf16. One row (decode) is one launch, the bias added in the GEMV's
// epilogue; more rows are cuBLAS then a bias pass. Rounds as the two-step form does: the product
// to bf16, then the sum.
void linear_bias_bf16(cublasHandle_t handle, const __nv_bfloat16* x, const __nv_bfloat16* w, const __nv_bfloat16* bias,
                      __nv_bfloat16* y, int rows, int in, int out);

// The MLP's gated first layer, bf16: y[rows, inner] = act(x * w_a^T) * (x * w_b^T) with
// w = [w_a; w_b] stacked ([2 * inner, in]). One row (decode) is one launch, the gate applied in the
// GEMV's epilogue; more rows are cuBLAS into `ab` ([rows, 2 * inner]) then the gate pass. Rounds as
// the two-step form does: both products to bf16, then the gated value.
void linear_gated_bf16(cublasHandle_t handle, const __nv_bfloat16* x, const __nv_bfloat16* w, __nv_bfloat16* ab,
                       __nv_bfloat16* y, int rows, int in, int inner, GateActivation act);

}  // namespace hd
