#include <cuda_runtime_api.h>

#include "hd/kernels/cuda_check.h"

namespace hd {

bool overlapped_launch_supported() {
  static thread_local int device_seen = -1;
  static thread_local bool supported = false;
  int device = 0;
  HD_CUDA_CHECK(cudaGetDevice(&device));
  if (device != device_seen) {
    int major = 0;
    HD_CUDA_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device));
    supported = major >= 9;
    device_seen = device;
  }
  return supported;
}

}  // namespace hd
