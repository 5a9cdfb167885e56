#pragma once
// The Hyena long convolution by FFT on cuFFT, the alternative to modal_scan (same inputs,
// outputs and state update): per channel, y = h * u over the chunk by a zero-padded real
// FFT of size n >= 2 * rows, h[c, t] = Re(sum_k R p^t); plus the saved state's contribution
// Re(sum_k R p^(t+1) s_k) and skip * u; gated by x2. Powers of p are formed in double.
#include <cuda_runtime_api.h>
#include <cufft.h>

#include <map>
#include <memory>

#include "hd/kernels/cuda_context.h"
#include "hd/kernels/fft.h"
#include "hd/kernels/modal_scan.h"

namespace hd {

class FftLongConv {
 public:
  FftLongConv(int dim, cudaStream_t stream) : dim_(dim), stream_(stream) {}
  // Same contract as modal_scan(); p.scratch is not used.
  template <typename T>
  void run(const ModalScanParams<T>& p);

 private:
  struct Plan {
    std::unique_ptr<RealFftPlan> fft;
    DeviceBuffer<float> u_t, h_t, conv;
    DeviceBuffer<cufftComplex> u_f, h_f;
  };
  Plan& plan_for(int n);
  int dim_;
  cudaStream_t stream_;
  std::map<int, Plan> plans_;  // by FFT size; built on first use
};

}  // namespace hd
