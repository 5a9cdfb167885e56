#include "hd/kernels/cuda_check.h"

#include <cublas_v2.h>

namespace hd {

namespace {
std::string where(const char* call, const char* file, int line) {
  return std::string(call) + " at " + file + ":" + std::to_string(line);
}

const char* cufft_result_name(cufftResult r) {
  switch (r) {
    case CUFFT_INVALID_PLAN: return "CUFFT_INVALID_PLAN";
    case CUFFT_ALLOC_FAILED: return "CUFFT_ALLOC_FAILED (out of GPU memory)";
    case CUFFT_INVALID_VALUE: return "CUFFT_INVALID_VALUE";
    case CUFFT_INTERNAL_ERROR: return "CUFFT_INTERNAL_ERROR";
    case CUFFT_EXEC_FAILED: return "CUFFT_EXEC_FAILED";
    case CUFFT_SETUP_FAILED: return "CUFFT_SETUP_FAILED";
    case CUFFT_INVALID_SIZE: return "CUFFT_INVALID_SIZE";
    default: return "cuFFT error";
  }
}
}  // namespace

void throw_cuda_error(cudaError_t err, const char* call, const char* file, int line) {
  cudaGetLastError();  // do not leave a non-sticky error behind for the next caller
  bool oom = err == cudaErrorMemoryAllocation;
  throw CudaError(std::string(oom ? "GPU out of memory: " : "CUDA error: ") + cudaGetErrorName(err) + " (" +
                      cudaGetErrorString(err) + ") in " + where(call, file, line),
                  oom);
}

void throw_cublas_error(cublasStatus_t status, const char* call, const char* file, int line) {
  bool oom = status == CUBLAS_STATUS_ALLOC_FAILED;
  throw CudaError(std::string("cuBLAS error: ") + cublasGetStatusName(status) + " (" + cublasGetStatusString(status) +
                      ") in " + where(call, file, line),
                  oom);
}

void throw_cufft_error(cufftResult result, const char* call, const char* file, int line) {
  throw CudaError(std::string("cuFFT error: ") + cufft_result_name(result) + " (" + std::to_string(int(result)) +
                      ") in " + where(call, file, line),
                  result == CUFFT_ALLOC_FAILED);
}

}  // namespace hd
