#pragma once
// Median milliseconds of a piece of GPU work on the context's stream, by CUDA events, after
// warm-up runs: what every GPU benchmark here times with.
#include <algorithm>
#include <vector>

#include <cuda_runtime_api.h>

#include "hd/kernels/cuda_check.h"
#include "hd/kernels/cuda_context.h"

namespace hd::bench {

template <typename F>
double median_ms(CudaContext& ctx, int reps, F&& work, int warmups = 3) {
  cudaEvent_t start, stop;
  HD_CUDA_CHECK(cudaEventCreate(&start));
  HD_CUDA_CHECK(cudaEventCreate(&stop));
  for (int i = 0; i < warmups; ++i) work();
  std::vector<double> ms;
  for (int r = 0; r < reps; ++r) {
    HD_CUDA_CHECK(cudaEventRecord(start, ctx.stream()));
    work();
    HD_CUDA_CHECK(cudaEventRecord(stop, ctx.stream()));
    HD_CUDA_CHECK(cudaEventSynchronize(stop));
    float t = 0;
    HD_CUDA_CHECK(cudaEventElapsedTime(&t, start, stop));
    ms.push_back(t);
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

}  // namespace hd::bench
