#include "hd/kernels/cuda_context.h"

namespace hd {

CudaContext::CudaContext(int device) : device_(device) {
  HD_CUDA_CHECK(cudaSetDevice(device_));
  HD_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  try {
    HD_CUBLAS_CHECK(cublasCreate(&cublas_));
    HD_CUBLAS_CHECK(cublasSetStream(cublas_, stream_));
    constexpr std::size_t kWorkspace = 32u << 20;
    HD_CUDA_CHECK(cudaMalloc(&cublas_workspace_, kWorkspace));
    HD_CUBLAS_CHECK(cublasSetWorkspace(cublas_, cublas_workspace_, kWorkspace));
  } catch (...) {
    if (cublas_) cublasDestroy(cublas_);
    if (cublas_workspace_) cudaFree(cublas_workspace_);
    cudaStreamDestroy(stream_);
    throw;
  }
}

CudaContext::~CudaContext() {
  if (cublas_) cublasDestroy(cublas_);
  if (cublas_workspace_) cudaFree(cublas_workspace_);
  if (stream_) cudaStreamDestroy(stream_);
}

void CudaContext::synchronize() const { HD_CUDA_CHECK(cudaStreamSynchronize(stream_)); }

}  // namespace hd
