#pragma once
// The two ceilings GPU figures are compared against, measured in the same run:
// a bf16 cuBLAS GEMM rate and the device-to-device copy bandwidth (bytes read + written).
#include "hd/kernels/cuda_context.h"

namespace hd::bench {

struct GpuPeaks {
  double gemm_tflops = 0;  // bf16 n^3 GEMM, fp32 accumulation, random data
  double copy_tbps = 0;    // cudaMemcpy device to device
  double gemm_ms = 0, copy_ms = 0;
};

GpuPeaks measure_gpu_peaks(CudaContext& ctx, int gemm_n = 8192, int copy_mib = 1024, int reps = 10);

}  // namespace hd::bench
