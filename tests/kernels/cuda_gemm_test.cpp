// cuBLAS bf16 GEMM (float32 accumulation) against a float64 CPU product of the same bf16 inputs.
#include <cuda_bf16.h>
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "hd/kernels/cuda_context.h"
#include "hd/kernels/elementwise.h"
#include "hd/kernels/gemm.h"
#include "support/temp_dir.h"

namespace hd {
namespace {

class CudaGemm : public ::testing::TestWithParam<int> {};

// 77 rows: cuBLAS with an odd row count; 1 row: the one-row (decode) kernel.
TEST_P(CudaGemm, LinearBf16MatchesCpu) {
  HD_REQUIRE_CUDA_DEVICE();
  const int rows = GetParam(), in = 512, out = 384;
  std::mt19937 gen(21);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  std::vector<__nv_bfloat16> x(rows * in), w(out * in);
  std::vector<float> xf(x.size()), wf(w.size());
  for (size_t i = 0; i < x.size(); ++i) { x[i] = __float2bfloat16(u(gen)); xf[i] = __bfloat162float(x[i]); }
  for (size_t i = 0; i < w.size(); ++i) { w[i] = __float2bfloat16(u(gen)); wf[i] = __bfloat162float(w[i]); }

  CudaContext ctx;
  DeviceBuffer<__nv_bfloat16> dx(x.size()), dw(w.size()), dy(static_cast<size_t>(rows) * out);
  dx.upload(x, ctx.stream());
  dw.upload(w, ctx.stream());
  HD_CUDA_CHECK(cudaMemsetAsync(dy.data(), 0xff, dy.bytes(), ctx.stream()));
  linear_bf16(ctx.cublas(), dx.data(), dw.data(), dy.data(), rows, in, out);
  std::vector<__nv_bfloat16> y = dy.download(ctx.stream());

  double num = 0, den = 0;
  for (int r = 0; r < rows; ++r) {
    for (int o = 0; o < out; ++o) {
      double want = 0;
      for (int k = 0; k < in; ++k) want += double(xf[r * in + k]) * wf[o * in + k];
      double got = __bfloat162float(y[r * out + o]);
      ASSERT_TRUE(std::isfinite(got)) << "row " << r << " col " << o << " not written";
      num += (got - want) * (got - want);
      den += want * want;
    }
  }
  // Inputs are exact; float32 accumulation plus one bf16 rounding of the output.
  EXPECT_LT(std::sqrt(num / den), 4e-3);
}

// A linear layer with a bias, as the model's projections have: one launch for one row (the bias in
// the GEMV's epilogue), cuBLAS plus a bias pass otherwise. Both must give exactly what the product
// followed by bias_add gives (the decode step and the prompt path must agree), and be right.
TEST_P(CudaGemm, LinearBiasBf16EqualsProductThenBias) {
  HD_REQUIRE_CUDA_DEVICE();
  const int rows = GetParam(), in = 1024, out = 200;
  std::mt19937 gen(22);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  std::vector<__nv_bfloat16> x(rows * in), w(out * in), bias(out);
  for (auto& v : x) v = __float2bfloat16(u(gen));
  for (auto& v : w) v = __float2bfloat16(u(gen));
  for (auto& v : bias) v = __float2bfloat16(8.f * u(gen));  // large enough that a lost bias shows

  CudaContext ctx;
  DeviceBuffer<__nv_bfloat16> dx(x.size()), dw(w.size()), db(bias.size()), fused(static_cast<size_t>(rows) * out),
      two_step(fused.size());
  dx.upload(x, ctx.stream());
  dw.upload(w, ctx.stream());
  db.upload(bias, ctx.stream());
  HD_CUDA_CHECK(cudaMemsetAsync(fused.data(), 0xff, fused.bytes(), ctx.stream()));
  linear_bias_bf16(ctx.cublas(), dx.data(), dw.data(), db.data(), fused.data(), rows, in, out);
  linear_bf16(ctx.cublas(), dx.data(), dw.data(), two_step.data(), rows, in, out);
  bias_add<__nv_bfloat16>(two_step.data(), db.data(), rows, out, ctx.stream());
  const std::vector<__nv_bfloat16> got = fused.download(ctx.stream()), want = two_step.download(ctx.stream());

  double num = 0, den = 0;
  for (int r = 0; r < rows; ++r) {
    for (int o = 0; o < out; ++o) {
      const size_t i = static_cast<size_t>(r) * out + o;
      ASSERT_EQ(__bfloat162float(got[i]), __bfloat162float(want[i])) << "row " << r << " col " << o;
      double exact = __bfloat162float(bias[o]);
      for (int k = 0; k < in; ++k) exact += double(__bfloat162float(x[r * in + k])) * __bfloat162float(w[o * in + k]);
      num += (__bfloat162float(got[i]) - exact) * (__bfloat162float(got[i]) - exact);
      den += exact * exact;
    }
  }
  EXPECT_LT(std::sqrt(num / den), 6e-3);  // two bf16 roundings
}

// The MLP's first layer with its gate (w = l1 over l2): one launch for one row, cuBLAS plus the
// gate pass otherwise. Both activations; exactly what the product followed by
// gated_activation gives, and close to float64.
TEST_P(CudaGemm, LinearGatedBf16EqualsProductThenGate) {
  HD_REQUIRE_CUDA_DEVICE();
  const int rows = GetParam(), in = 1024, inner = 136;
  std::mt19937 gen(23);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  std::vector<__nv_bfloat16> x(rows * in), w(2 * inner * in);
  for (auto& v : x) v = __float2bfloat16(u(gen));
  for (auto& v : w) v = __float2bfloat16(0.1f * u(gen));  // products of a few units: both gate regimes

  CudaContext ctx;
  DeviceBuffer<__nv_bfloat16> dx(x.size()), dw(w.size()), ab(static_cast<size_t>(rows) * 2 * inner),
      fused(static_cast<size_t>(rows) * inner), two_step(fused.size());
  dx.upload(x, ctx.stream());
  dw.upload(w, ctx.stream());
  for (GateActivation act : {GateActivation::silu, GateActivation::gelu}) {
    SCOPED_TRACE(act == GateActivation::silu ? "silu" : "gelu");
    HD_CUDA_CHECK(cudaMemsetAsync(fused.data(), 0xff, fused.bytes(), ctx.stream()));
    linear_gated_bf16(ctx.cublas(), dx.data(), dw.data(), ab.data(), fused.data(), rows, in, inner, act);
    linear_bf16(ctx.cublas(), dx.data(), dw.data(), ab.data(), rows, in, 2 * inner);
    gated_activation<__nv_bfloat16>(ab.data(), two_step.data(), rows, inner, act, ctx.stream());
    const std::vector<__nv_bfloat16> got = fused.download(ctx.stream()), want = two_step.download(ctx.stream());

    double num = 0, den = 0;
    for (int r = 0; r < rows; ++r) {
      for (int j = 0; j < inner; ++j) {
        const size_t i = static_cast<size_t>(r) * inner + j;
        ASSERT_EQ(__bfloat162float(got[i]), __bfloat162float(want[i])) << "row " << r << " col " << j;
        double a = 0, b = 0;
        for (int k = 0; k < in; ++k) {
          const double xk = __bfloat162float(x[r * in + k]);
          a += xk * __bfloat162float(w[static_cast<size_t>(j) * in + k]);
          b += xk * __bfloat162float(w[static_cast<size_t>(inner + j) * in + k]);
        }
        const double g = act == GateActivation::silu ? a / (1 + std::exp(-a)) : 0.5 * a * (1 + std::erf(a / std::sqrt(2.0)));
        num += (__bfloat162float(got[i]) - g * b) * (__bfloat162float(got[i]) - g * b);
        den += g * b * g * b;
      }
    }
    EXPECT_LT(std::sqrt(num / den), 1e-2);  // three bf16 roundings
  }
}

// The one-row kernel at the model's widths, where its unrolled loop runs (the tests above have
// rows of 512 and 1024 values, which only its tail loop sees), including a width that leaves a
// tail after the unrolled part, to float32 and bf16 outputs.
TEST(CudaGemv, OneRowMatchesFloat64AtModelWidths) {
  HD_REQUIRE_CUDA_DEVICE();
  for (const int in : {4096, 14336, 4096 + 8 * 37}) {
    SCOPED_TRACE("in " + std::to_string(in));
    const int out = 72;
    std::mt19937 gen(in);
    std::uniform_real_distribution<float> u(-1.f, 1.f);
    std::vector<__nv_bfloat16> x(in), w(static_cast<size_t>(out) * in);
    for (auto& v : x) v = __float2bfloat16(u(gen));
    for (auto& v : w) v = __float2bfloat16(u(gen));
    CudaContext ctx;
    DeviceBuffer<__nv_bfloat16> dx(x.size()), dw(w.size()), dy(out);
    DeviceBuffer<float> dyf(out);
    dx.upload(x, ctx.stream());
    dw.upload(w, ctx.stream());
    HD_CUDA_CHECK(cudaMemsetAsync(dy.data(), 0xff, dy.bytes(), ctx.stream()));
    HD_CUDA_CHECK(cudaMemsetAsync(dyf.data(), 0xff, dyf.bytes(), ctx.stream()));
    linear_bf16(ctx.cublas(), dx.data(), dw.data(), dy.data(), 1, in, out);
    linear(ctx.cublas(), dx.data(), dw.data(), dyf.data(), CUDA_R_16BF, CUDA_R_32F, 1, in, out);
    const std::vector<__nv_bfloat16> y = dy.download(ctx.stream());
    const std::vector<float> yf = dyf.download(ctx.stream());
    double num = 0, numf = 0, den = 0;
    for (int o = 0; o < out; ++o) {
      double want = 0;
      for (int k = 0; k < in; ++k) want += double(__bfloat162float(x[k])) * __bfloat162float(w[static_cast<size_t>(o) * in + k]);
      ASSERT_TRUE(std::isfinite(yf[o])) << "col " << o << " not written";
      num += (__bfloat162float(y[o]) - want) * (__bfloat162float(y[o]) - want);
      numf += (yf[o] - want) * (yf[o] - want);
      den += want * want;
    }
    EXPECT_LT(std::sqrt(num / den), 4e-3);   // one bf16 rounding
    EXPECT_LT(std::sqrt(numf / den), 1e-5);  // float32 accumulation only
  }
}

INSTANTIATE_TEST_SUITE_P(Rows, CudaGemm, ::testing::Values(77, 1));

}  // namespace
}  // namespace hd
