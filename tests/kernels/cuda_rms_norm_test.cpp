// Our RMSNorm kernel against a float64 CPU computation of the same formula.
#include <cuda_bf16.h>
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "hd/kernels/cuda_context.h"
#include "hd/kernels/rms_norm.h"
#include "support/temp_dir.h"

namespace hd {
namespace {

std::vector<double> cpu_rms_norm(const std::vector<float>& x, const std::vector<float>& scale, int rows, int dim,
                                 double eps) {
  std::vector<double> out(x.size());
  for (int r = 0; r < rows; ++r) {
    double sum = 0;
    for (int i = 0; i < dim; ++i) sum += double(x[r * dim + i]) * x[r * dim + i];
    double inv = 1.0 / std::sqrt(sum / dim + eps);
    for (int i = 0; i < dim; ++i) out[r * dim + i] = x[r * dim + i] * inv * scale[i];
  }
  return out;
}

double relative_error(const std::vector<float>& got, const std::vector<double>& want) {
  double num = 0, den = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    if (!std::isfinite(got[i])) return INFINITY;
    num += (got[i] - want[i]) * (got[i] - want[i]);
    den += want[i] * want[i];
  }
  return std::sqrt(num / den);
}

TEST(CudaRmsNorm, Float32MatchesCpu) {
  HD_REQUIRE_CUDA_DEVICE();
  const int rows = 37, dim = 4096;  // rows not a power of two; dim of the 7B model
  std::mt19937 gen(11);
  std::normal_distribution<float> n(0.f, 3.f);
  std::vector<float> x(rows * dim), scale(dim);
  for (auto& v : x) v = n(gen);
  for (auto& v : scale) v = 1.f + 0.1f * n(gen);

  CudaContext ctx;
  DeviceBuffer<float> dx(x.size()), dscale(dim), dout(x.size());
  dx.upload(x, ctx.stream());
  dscale.upload(scale, ctx.stream());
  HD_CUDA_CHECK(cudaMemsetAsync(dout.data(), 0xff, dout.bytes(), ctx.stream()));  // poison: NaN everywhere
  rms_norm<float>({dx.data(), dscale.data(), dout.data(), rows, dim, 1e-5f}, ctx.stream());
  std::vector<float> got = dout.download(ctx.stream());
  EXPECT_LT(relative_error(got, cpu_rms_norm(x, scale, rows, dim, 1e-5)), 1e-6);
}

TEST(CudaRmsNorm, Bfloat16MatchesCpuWithinBf16Rounding) {
  HD_REQUIRE_CUDA_DEVICE();
  const int rows = 64, dim = 768;
  std::mt19937 gen(12);
  std::normal_distribution<float> n(0.f, 1.f);
  std::vector<float> x(rows * dim), scale(dim);
  for (auto& v : x) v = __bfloat162float(__float2bfloat16(n(gen)));  // exactly representable inputs
  for (auto& v : scale) v = __bfloat162float(__float2bfloat16(1.f + 0.1f * n(gen)));
  std::vector<__nv_bfloat16> xb(x.size()), sb(dim);
  for (size_t i = 0; i < x.size(); ++i) xb[i] = __float2bfloat16(x[i]);
  for (int i = 0; i < dim; ++i) sb[i] = __float2bfloat16(scale[i]);

  CudaContext ctx;
  DeviceBuffer<__nv_bfloat16> dx(xb.size()), dscale(dim), dout(xb.size());
  dx.upload(xb, ctx.stream());
  dscale.upload(sb, ctx.stream());
  HD_CUDA_CHECK(cudaMemsetAsync(dout.data(), 0xff, dout.bytes(), ctx.stream()));
  rms_norm<__nv_bfloat16>({dx.data(), dscale.data(), dout.data(), rows, dim, 1e-5f}, ctx.stream());
  std::vector<__nv_bfloat16> out = dout.download(ctx.stream());
  std::vector<float> got(out.size());
  for (size_t i = 0; i < out.size(); ++i) got[i] = __bfloat162float(out[i]);
  // One bf16 rounding of the output: relative error about 2^-9 at most, ~1e-3 in norm.
  EXPECT_LT(relative_error(got, cpu_rms_norm(x, scale, rows, dim, 1e-5)), 4e-3);
}

TEST(CudaRmsNorm, RejectsBadShape) {
  HD_REQUIRE_CUDA_DEVICE();
  CudaContext ctx;
  RmsNormParams<float> p;  // null pointers
  p.rows = 1;
  p.dim = 8;
  EXPECT_THROW(rms_norm(p, ctx.stream()), std::invalid_argument);
}

}  // namespace
}  // namespace hd
