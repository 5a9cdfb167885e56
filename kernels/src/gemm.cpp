#include "hd/kernels/gemm.h"

#include <stdexcept>
#include <string>

#include "gemv.cuh"
#include "hd/kernels/cuda_check.h"
#include "hd/kernels/elementwise.h"

namespace hd {

void linear_bf16(cublasHandle_t handle, const __nv_bfloat16* x, const __nv_bfloat16* w, __nv_bfloat16* y, int rows,
                 int in, int out) {
  linear(handle, x, w, y, CUDA_R_16BF, CUDA_R_16BF, rows, in, out);
}

void linear(cublasHandle_t handle, const void* x, const void* w, void* y, cudaDataType in_type, cudaDataType out_type,
            int rows, int in, int out) {
  if (rows < 0 || in <= 0 || out <= 0) {
    throw std::invalid_argument("linear: bad shape rows=" + std::to_string(rows) + " in=" + std::to_string(in) +
                                " out=" + std::to_string(out));
  }
  if (rows == 0) return;
  if (rows == 1 && in_type == CUDA_R_16BF && (out_type == CUDA_R_16BF || out_type == CUDA_R_32F) &&
      gemv_bf16_applies(x, w, in)) {
    cudaStream_t stream = nullptr;
    HD_CUBLAS_CHECK(cublasGetStream(handle, &stream));
    gemv_bf16(static_cast<const __nv_bfloat16*>(x), static_cast<const __nv_bfloat16*>(w), nullptr, y,
              out_type == CUDA_R_32F, in, out, stream);
    return;
  }
  // cuBLAS is column-major: the row-major y[rows,out] is y^T[out,rows] in column-major,
  // and y^T = w * x^T, where row-major w[out,in] read column-major is w^T (so op T).
  const float alpha = 1.f, beta = 0.f;
  HD_CUBLAS_CHECK(cublasGemmEx(handle, CUBLAS_OP_T, CUBLAS_OP_N, out, rows, in, &alpha, w, in_type, in, x, in_type,
                               in, &beta, y, out_type, out, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
}

void linear_bias_bf16(cublasHandle_t handle, const __nv_bfloat16* x, const __nv_bfloat16* w, const __nv_bfloat16* bias,
                      __nv_bfloat16* y, int rows, int in, int out) {
  if (rows == 1 && in > 0 && out > 0 && gemv_bf16_applies(x, w, in)) {
    cudaStream_t stream = nullptr;
    HD_CUBLAS_CHECK(cublasGetStream(handle, &stream));
    gemv_bf16(x, w, bias, y, false, in, out, stream);
    return;
  }
  linear_bf16(handle, x, w, y, rows, in, out);
  if (rows > 0) {
    cudaStream_t stream = nullptr;
    HD_CUBLAS_CHECK(cublasGetStream(handle, &stream));
    bias_add<__nv_bfloat16>(y, bias, rows, out, stream);
  }
}

void linear_gated_bf16(cublasHandle_t handle, const __nv_bfloat16* x, const __nv_bfloat16* w, __nv_bfloat16* ab,
                       __nv_bfloat16* y, int rows, int in, int inner, GateActivation act) {
  cudaStream_t stream = nullptr;
  HD_CUBLAS_CHECK(cublasGetStream(handle, &stream));
  if (rows == 1 && in > 0 && inner > 0 && gemv_bf16_applies(x, w, in)) {
    gemv_gated_bf16(x, w, y, in, inner, act, stream);
    return;
  }
  linear_bf16(handle, x, w, ab, rows, in, 2 * inner);
  gated_activation<__nv_bfloat16>(ab, y, rows, inner, act, stream);
}

}  // namespace hd
