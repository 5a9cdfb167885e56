#pragma once
// What GPU (if any) this process can use. Safe to call in builds without CUDA and on
// machines without a driver: it then reports why no device is available.
#include <cstdint>
#include <string>

namespace hd {

struct DeviceInfo {
  bool available = false;        // a CUDA device can run our kernels
  std::string reason;            // why not, when !available
  std::string name;              // e.g. "NVIDIA H100 80GB HBM3"
  int compute_major = 0, compute_minor = 0;
  int multiprocessors = 0;
  std::uint64_t memory_bytes = 0;
  std::uint64_t l2_bytes = 0;
  int driver_version = 0;        // CUDA driver API version, e.g. 13000
  int runtime_version = 0;       // CUDA runtime the program was built against
};

// True when this build contains the CUDA backend.
bool cuda_compiled();

// Number of usable CUDA devices (0 without CUDA, driver or device).
int cuda_device_count();

// Properties of device `index`; `available` is false with a reason when there is none.
DeviceInfo query_device(int index = 0);

// Bytes of the device's memory in use (by every process), or 0 without a usable device.
std::uint64_t device_memory_in_use(int index = 0);

// "CUDA 13.0" style text for the runtime this program was built with ("none" without CUDA).
std::string cuda_runtime_text();

}  // namespace hd
