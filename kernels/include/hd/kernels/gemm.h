#pragma once
// Linear layers on cuBLAS: bf16 operands, float32 accumulation (CUBLAS_COMPUTE_32F).
#include <cublas_v2.h>
#include <cuda_bf16.h>

namespace hd {

// y[rows, out] = x[rows, in] * w[out, in]^T, all row-major bf16, as torch.nn.Linear stores w.
// Runs on the stream bound to `handle`.
void linear_bf16(cublasHandle_t handle, const __nv_bfloat16* x, const __nv_bfloat16* w, __nv_bfloat16* y, int rows,
                 int in, int out);

}  // namespace hd
