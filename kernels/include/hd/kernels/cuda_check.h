#pragma once
// Checked CUDA, cuBLAS and cuFFT calls: every failure becomes hd::CudaError carrying the
// call, the file and line, and the library's own message. Kernel launches are followed by
// HD_CHECK_LAUNCH() so a bad configuration is reported where it happened.
#include <cublas_api.h>
#include <cuda_runtime_api.h>
#include <cufft.h>

#include <stdexcept>
#include <string>

namespace hd {

class CudaError : public std::runtime_error {
 public:
  CudaError(const std::string& what, bool out_of_memory) : std::runtime_error(what), out_of_memory_(out_of_memory) {}
  // True when the failure was an allocation: callers can offer a smaller chunk or context.
  bool out_of_memory() const { return out_of_memory_; }

 private:
  bool out_of_memory_;
};

[[noreturn]] void throw_cuda_error(cudaError_t err, const char* call, const char* file, int line);
[[noreturn]] void throw_cublas_error(cublasStatus_t status, const char* call, const char* file, int line);
[[noreturn]] void throw_cufft_error(cufftResult result, const char* call, const char* file, int line);

}  // namespace hd

#define HD_CUDA_CHECK(call)                                                  \
  do {                                                                       \
    cudaError_t hd_err_ = (call);                                            \
    if (hd_err_ != cudaSuccess) ::hd::throw_cuda_error(hd_err_, #call, __FILE__, __LINE__); \
  } while (0)

#define HD_CUBLAS_CHECK(call)                                                \
  do {                                                                       \
    cublasStatus_t hd_st_ = (call);                                          \
    if (hd_st_ != CUBLAS_STATUS_SUCCESS) ::hd::throw_cublas_error(hd_st_, #call, __FILE__, __LINE__); \
  } while (0)

#define HD_CUFFT_CHECK(call)                                                 \
  do {                                                                       \
    cufftResult hd_res_ = (call);                                            \
    if (hd_res_ != CUFFT_SUCCESS) ::hd::throw_cufft_error(hd_res_, #call, __FILE__, __LINE__); \
  } while (0)

// After a <<<...>>> launch: configuration errors surface here, not at a later unrelated call.
#define HD_CHECK_LAUNCH() HD_CUDA_CHECK(cudaGetLastError())
