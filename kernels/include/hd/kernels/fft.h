#pragma once
// Batched real-to-complex FFTs on cuFFT (float32), the building block of the Hyena
// long convolution by FFT. A plan is made once per (length, batch) and reused.
#include <cuda_runtime_api.h>
#include <cufft.h>

namespace hd {

class RealFftPlan {
 public:
  // `batch` signals of `n` real samples each, contiguous; spectra have n/2+1 bins each.
  RealFftPlan(int n, int batch, cudaStream_t stream);
  ~RealFftPlan();
  RealFftPlan(const RealFftPlan&) = delete;
  RealFftPlan& operator=(const RealFftPlan&) = delete;

  int n() const { return n_; }
  int batch() const { return batch_; }
  int bins() const { return n_ / 2 + 1; }

  void forward(const float* signal, cufftComplex* spectrum) const;
  // Unnormalised, as cuFFT defines it: inverse(forward(x)) = n * x. cuFFT's C2R overwrites
  // its input, so `spectrum` is scratch afterwards.
  void inverse(cufftComplex* spectrum, float* signal) const;

 private:
  int n_, batch_;
  cufftHandle r2c_ = 0, c2r_ = 0;
};

}  // namespace hd
