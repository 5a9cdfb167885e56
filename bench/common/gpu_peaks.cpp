#include "gpu_peaks.h"

#include <cuda_bf16.h>

#include <algorithm>
#include <random>
#include <vector>

namespace hd::bench {
namespace {

template <typename F>
double median_ms(CudaContext& ctx, int reps, F&& work) {
  cudaEvent_t start, stop;
  HD_CUDA_CHECK(cudaEventCreate(&start));
  HD_CUDA_CHECK(cudaEventCreate(&stop));
  for (int i = 0; i < 3; ++i) work();  // warm up
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

}  // namespace

GpuPeaks measure_gpu_peaks(CudaContext& ctx, int n, int copy_mib, int reps) {
  GpuPeaks out;
  {
    std::mt19937 gen(2);
    std::uniform_real_distribution<float> u(-1, 1);
    std::vector<__nv_bfloat16> host(static_cast<size_t>(n) * n);
    DeviceBuffer<__nv_bfloat16> a(host.size()), b(host.size()), c(host.size());
    for (auto& v : host) v = __float2bfloat16(u(gen));  // random data: zeros run faster
    a.upload(host, ctx.stream());
    for (auto& v : host) v = __float2bfloat16(u(gen));
    b.upload(host, ctx.stream());
    const float alpha = 1, beta = 0;
    out.gemm_ms = median_ms(ctx, reps, [&] {
      HD_CUBLAS_CHECK(cublasGemmEx(ctx.cublas(), CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &alpha, a.data(), CUDA_R_16BF, n,
                                   b.data(), CUDA_R_16BF, n, &beta, c.data(), CUDA_R_16BF, n, CUBLAS_COMPUTE_32F,
                                   CUBLAS_GEMM_DEFAULT));
    });
    out.gemm_tflops = 2.0 * n * n * n / (out.gemm_ms / 1e3) / 1e12;
  }
  {
    const size_t bytes = static_cast<size_t>(copy_mib) << 20;
    DeviceBuffer<char> src(bytes), dst(bytes);
    HD_CUDA_CHECK(cudaMemsetAsync(src.data(), 1, bytes, ctx.stream()));
    out.copy_ms = median_ms(ctx, reps, [&] {
      HD_CUDA_CHECK(cudaMemcpyAsync(dst.data(), src.data(), bytes, cudaMemcpyDeviceToDevice, ctx.stream()));
    });
    out.copy_tbps = 2.0 * bytes / (out.copy_ms / 1e3) / 1e12;
  }
  return out;
}

}  // namespace hd::bench
