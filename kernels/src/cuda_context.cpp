#include "hd/kernels/cuda_context.h"

namespace hd {

CudaContext::CudaContext(int device) : device_(device) {
  HD_CUDA_CHECK(cudaSetDevice(device_));
  HD_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  try {
    HD_CUBLAS_CHECK(cublasCreate(&cublas_));
    HD_CUBLAS_CHECK(cublasSetStream(cublas_, stream_));
  } catch (...) {
    cudaStreamDestroy(stream_);
    throw;
  }
}

CudaContext::~CudaContext() {
  if (cublas_) cublasDestroy(cublas_);
  if (stream_) cudaStreamDestroy(stream_);
}

void CudaContext::synchronize() const { HD_CUDA_CHECK(cudaStreamSynchronize(stream_)); }

}  // namespace hd
