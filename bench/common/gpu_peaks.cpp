#include "gpu_peaks.h"

#include <cuda_bf16.h>

#include <algorithm>
#include <random>
#include <vector>

#include "gpu_timing.h"

namespace hd::bench {

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
