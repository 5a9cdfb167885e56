#pragma once
// Programmatic dependent launch (Hopper and later): a kernel launched with
// launch_overlapping_previous() may be scheduled while the kernel before it on the stream still
// runs, once that kernel's blocks have all called allow_next_kernel_to_start() (or exited). It
// must call wait_for_previous_kernel() before it touches anything that kernel or an earlier one
// wrote; what it does before (the one-row GEMVs load their first weights, which nothing in the
// step writes; rotary computes its angles from the position) overlaps the previous kernel's tail
// and its own launch. A kernel that calls allow_next_kernel_to_start() before its own wait lets
// a GEMV after it prefetch while it is still waiting; the GEMVs allow only after waiting, so the
// early starts do not cascade down the step. Without the launch
// attribute, or before sm_90, both calls do nothing and the stream serializes as usual. Graph
// capture keeps the overlap as a programmatic edge.
#include <cuda_runtime.h>

#include <utility>

#include "hd/kernels/cuda_check.h"

namespace hd {

__device__ __forceinline__ void wait_for_previous_kernel() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
}

__device__ __forceinline__ void allow_next_kernel_to_start() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
#endif
}

// True when the current device has compute capability 9.0 or later (cached per thread and device).
bool overlapped_launch_supported();

template <typename... Params, typename... Args>
void launch_overlapping_previous(void (*kernel)(Params...), dim3 grid, dim3 block, cudaStream_t stream, Args&&... args) {
  cudaLaunchAttribute attribute{};
  attribute.id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attribute.val.programmaticStreamSerializationAllowed = 1;
  cudaLaunchConfig_t config{};
  config.gridDim = grid;
  config.blockDim = block;
  config.dynamicSmemBytes = 0;
  config.stream = stream;
  config.attrs = &attribute;
  config.numAttrs = overlapped_launch_supported() ? 1 : 0;
  HD_CUDA_CHECK(cudaLaunchKernelEx(&config, kernel, std::forward<Args>(args)...));
}

}  // namespace hd
