#include "hd/kernels/fft.h"

#include <stdexcept>
#include <string>

#include "hd/kernels/cuda_check.h"

namespace hd {

RealFftPlan::RealFftPlan(int n, int batch, cudaStream_t stream) : n_(n), batch_(batch) {
  if (n <= 0 || batch <= 0) {
    throw std::invalid_argument("RealFftPlan: bad size n=" + std::to_string(n) + " batch=" + std::to_string(batch));
  }
  HD_CUFFT_CHECK(cufftPlan1d(&r2c_, n, CUFFT_R2C, batch));
  try {
    HD_CUFFT_CHECK(cufftPlan1d(&c2r_, n, CUFFT_C2R, batch));
    HD_CUFFT_CHECK(cufftSetStream(r2c_, stream));
    HD_CUFFT_CHECK(cufftSetStream(c2r_, stream));
  } catch (...) {
    cufftDestroy(r2c_);
    if (c2r_) cufftDestroy(c2r_);
    throw;
  }
}

RealFftPlan::~RealFftPlan() {
  cufftDestroy(r2c_);
  cufftDestroy(c2r_);
}

void RealFftPlan::forward(const float* signal, cufftComplex* spectrum) const {
  // cuFFT's API takes non-const input pointers; R2C does not write its input.
  HD_CUFFT_CHECK(cufftExecR2C(r2c_, const_cast<float*>(signal), spectrum));
}

void RealFftPlan::inverse(cufftComplex* spectrum, float* signal) const {
  HD_CUFFT_CHECK(cufftExecC2R(c2r_, spectrum, signal));
}

}  // namespace hd
