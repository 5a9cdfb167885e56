// cuFFT real FFTs: the spectrum against a float64 CPU DFT, and forward+inverse round trip.
#include <gtest/gtest.h>

#include <cmath>
#include <complex>
#include <numbers>
#include <random>
#include <vector>

#include "hd/kernels/cuda_context.h"
#include "hd/kernels/fft.h"
#include "support/temp_dir.h"

namespace hd {
namespace {

TEST(CudaFft, SpectrumMatchesCpuDftAndRoundTripRestoresSignal) {
  HD_REQUIRE_CUDA_DEVICE();
  const int n = 1000, batch = 3;  // not a power of two: cuFFT's mixed-radix path
  std::mt19937 gen(31);
  std::normal_distribution<float> d(0.f, 1.f);
  std::vector<float> x(static_cast<size_t>(n) * batch);
  for (auto& v : x) v = d(gen);

  CudaContext ctx;
  RealFftPlan plan(n, batch, ctx.stream());
  DeviceBuffer<float> dx(x.size()), dback(x.size());
  DeviceBuffer<cufftComplex> dspec(static_cast<size_t>(plan.bins()) * batch);
  dx.upload(x, ctx.stream());
  plan.forward(dx.data(), dspec.data());
  std::vector<cufftComplex> spec = dspec.download(ctx.stream());

  double num = 0, den = 0;
  for (int b = 0; b < batch; ++b) {
    for (int k = 0; k < plan.bins(); ++k) {
      std::complex<double> want = 0;
      for (int t = 0; t < n; ++t) {
        want += double(x[b * n + t]) * std::polar(1.0, -2.0 * std::numbers::pi * k * t / n);
      }
      std::complex<double> got(spec[b * plan.bins() + k].x, spec[b * plan.bins() + k].y);
      num += std::norm(got - want);
      den += std::norm(want);
    }
  }
  EXPECT_LT(std::sqrt(num / den), 1e-6);

  HD_CUDA_CHECK(cudaMemsetAsync(dback.data(), 0xff, dback.bytes(), ctx.stream()));
  plan.inverse(dspec.data(), dback.data());
  std::vector<float> back = dback.download(ctx.stream());
  num = den = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    double got = back[i] / n;  // cuFFT's inverse is unnormalised
    ASSERT_TRUE(std::isfinite(got));
    num += (got - x[i]) * (got - x[i]);
    den += double(x[i]) * x[i];
  }
  EXPECT_LT(std::sqrt(num / den), 1e-6);
}

TEST(CudaFft, RejectsEmptyPlan) {
  HD_REQUIRE_CUDA_DEVICE();
  CudaContext ctx;
  EXPECT_THROW(RealFftPlan(0, 1, ctx.stream()), std::invalid_argument);
}

}  // namespace
}  // namespace hd
