#include "hd/kernels/device.h"

#if HD_HAVE_CUDA
#include <cuda_runtime_api.h>
#endif

namespace hd {

bool cuda_compiled() { return HD_HAVE_CUDA != 0; }

#if HD_HAVE_CUDA

int cuda_device_count() {
  int count = 0;
  // No driver or no device are ordinary situations (CI), not errors.
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky error so later calls start clean
    return 0;
  }
  return count;
}

DeviceInfo query_device(int index) {
  DeviceInfo info;
  cudaRuntimeGetVersion(&info.runtime_version);
  int count = 0;
  cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    cudaGetLastError();
    if (err == cudaErrorInsufficientDriver) {
      info.reason = "no NVIDIA driver, or one older than " + cuda_runtime_text() + " needs";
    } else if (err == cudaErrorNoDevice) {
      info.reason = "the NVIDIA driver reports no GPU";
    } else {
      info.reason = std::string("CUDA cannot start: ") + cudaGetErrorString(err);
    }
    return info;
  }
  if (index < 0 || index >= count) {
    info.reason = "no CUDA device with index " + std::to_string(index) + " (found " + std::to_string(count) + ")";
    return info;
  }
  cudaDeviceProp prop{};
  err = cudaGetDeviceProperties(&prop, index);
  if (err != cudaSuccess) {
    info.reason = std::string("cannot read device properties: ") + cudaGetErrorString(err);
    return info;
  }
  cudaDriverGetVersion(&info.driver_version);
  info.available = true;
  info.name = prop.name;
  info.compute_major = prop.major;
  info.compute_minor = prop.minor;
  info.multiprocessors = prop.multiProcessorCount;
  info.memory_bytes = prop.totalGlobalMem;
  info.l2_bytes = static_cast<std::uint64_t>(prop.l2CacheSize);
  return info;
}

std::uint64_t device_memory_in_use(int index) {
  std::size_t free_bytes = 0, total_bytes = 0;
  int current = 0;
  if (cudaGetDevice(&current) != cudaSuccess || cudaSetDevice(index) != cudaSuccess ||
      cudaMemGetInfo(&free_bytes, &total_bytes) != cudaSuccess) {
    cudaGetLastError();
    return 0;
  }
  cudaSetDevice(current);
  return total_bytes - free_bytes;
}

std::string cuda_runtime_text() {
  int v = 0;
  cudaRuntimeGetVersion(&v);
  return "CUDA " + std::to_string(v / 1000) + "." + std::to_string((v % 1000) / 10);
}

#else

int cuda_device_count() { return 0; }

DeviceInfo query_device(int) {
  DeviceInfo info;
  info.reason = "this build has no CUDA backend (configured with HD_CUDA=OFF or without nvcc)";
  return info;
}

std::uint64_t device_memory_in_use(int) { return 0; }

std::string cuda_runtime_text() { return "none"; }

#endif

}  // namespace hd
