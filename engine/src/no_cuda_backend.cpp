// Builds without CUDA still link make_cuda_backend, which says why it cannot help.
#include <stdexcept>

#include "hd/engine/backend.h"

namespace hd {

std::unique_ptr<Backend> make_cuda_backend(const Checkpoint&, const CudaBackendOptions&) {
  throw std::runtime_error("this build of HyenaDesk has no CUDA backend (configured with HD_CUDA=OFF or without nvcc)");
}

}  // namespace hd
