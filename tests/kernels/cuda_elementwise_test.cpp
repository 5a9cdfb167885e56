// The model's small data-path kernels (residual add + norm, gate, bias, embedding, convert,
// rotary into the KV cache) against float64 CPU computations of the same formulas. Each runs at a
// width the 16-byte vector kernels take (a multiple of 8, aligned) and at one that falls back to
// the scalar kernels (odd width or an unaligned base), so both paths stay right.
#include <cuda_bf16.h>
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "hd/kernels/cuda_context.h"
#include "hd/kernels/elementwise.h"
#include "hd/kernels/rms_norm.h"
#include "hd/kernels/rotary.h"
#include "support/temp_dir.h"

namespace hd {
namespace {

using bf16 = __nv_bfloat16;

float round_bf16(float v) { return __bfloat162float(__float2bfloat16(v)); }

// Values exactly representable in bf16, so float and bf16 inputs are the same numbers.
std::vector<float> random_values(std::size_t n, unsigned seed, float mean = 0.f, float sigma = 1.f) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> dist(mean, sigma);
  std::vector<float> v(n);
  for (auto& x : v) x = round_bf16(dist(gen));
  return v;
}

std::vector<bf16> to_bf16(const std::vector<float>& v) {
  std::vector<bf16> out(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) out[i] = __float2bfloat16(v[i]);
  return out;
}

std::vector<float> to_float(const std::vector<bf16>& v) {
  std::vector<float> out(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) out[i] = __bfloat162float(v[i]);
  return out;
}

double relative_error(const std::vector<float>& got, const std::vector<double>& want) {
  double num = 0, den = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (!std::isfinite(got[i])) return INFINITY;
    num += (got[i] - want[i]) * (got[i] - want[i]);
    den += want[i] * want[i];
  }
  return std::sqrt(num / den);
}

// A device copy of `host` starting `offset` elements into its buffer (offset 1: not 16-byte aligned).
template <typename T>
struct Placed {
  DeviceBuffer<T> buffer;
  int offset;
  Placed(const std::vector<T>& host, int offset_, cudaStream_t stream) : buffer(host.size() + 8), offset(offset_) {
    HD_CUDA_CHECK(cudaMemsetAsync(buffer.data(), 0xff, buffer.bytes(), stream));
    HD_CUDA_CHECK(cudaMemcpyAsync(buffer.data() + offset, host.data(), host.size() * sizeof(T), cudaMemcpyHostToDevice,
                                  stream));
  }
  T* data() { return buffer.data() + offset; }
  std::vector<T> download(std::size_t count, cudaStream_t stream) {
    std::vector<T> host(count);
    HD_CUDA_CHECK(cudaMemcpyAsync(host.data(), data(), count * sizeof(T), cudaMemcpyDeviceToHost, stream));
    HD_CUDA_CHECK(cudaStreamSynchronize(stream));
    return host;
  }
};

struct Shape {
  int dim;
  int offset;  // 0: the vector kernels apply when dim allows; 1: unaligned, scalar kernels
};

class CudaElementwise : public ::testing::TestWithParam<Shape> {};

TEST_P(CudaElementwise, ResidualAddRmsNormBf16MatchesCpu) {
  HD_REQUIRE_CUDA_DEVICE();
  const int rows = 37, dim = GetParam().dim, off = GetParam().offset;
  const std::vector<float> x = random_values(std::size_t(rows) * dim, 1, 0.f, 3.f);
  const std::vector<float> delta = random_values(x.size(), 2), scale = random_values(dim, 3, 1.f, 0.1f);
  std::vector<double> want_x(x.size()), want_out(x.size());
  for (int r = 0; r < rows; ++r) {
    double sum = 0;
    for (int i = 0; i < dim; ++i) {
      const std::size_t k = std::size_t(r) * dim + i;
      want_x[k] = double(x[k]) + delta[k];
      sum += want_x[k] * want_x[k];
    }
    const double inv = 1.0 / std::sqrt(sum / dim + 1e-6);
    for (int i = 0; i < dim; ++i) want_out[std::size_t(r) * dim + i] = want_x[std::size_t(r) * dim + i] * inv * scale[i];
  }
  CudaContext ctx;
  cudaStream_t st = ctx.stream();
  Placed<float> dx(x, off, st);
  Placed<bf16> dd(to_bf16(delta), off, st), ds(to_bf16(scale), off, st), dout(std::vector<bf16>(x.size()), off, st);
  residual_add_rms_norm<bf16>(dx.data(), dd.data(), ds.data(), dout.data(), rows, dim, 1e-6f, st);
  EXPECT_LT(relative_error(dx.download(x.size(), st), want_x), 1e-7);
  EXPECT_LT(relative_error(to_float(dout.download(x.size(), st)), want_out), 4e-3);  // one bf16 rounding

  // The norm alone, from the float32 residual stream (first block, final norm).
  Placed<bf16> dout2(std::vector<bf16>(x.size()), off, st);
  rms_norm_from_float<bf16>(dx.data(), ds.data(), dout2.data(), rows, dim, 1e-6f, st);
  EXPECT_LT(relative_error(to_float(dout2.download(x.size(), st)), want_out), 4e-3);
}

TEST_P(CudaElementwise, RmsNormFloat32MatchesCpu) {
  HD_REQUIRE_CUDA_DEVICE();
  const int rows = 5, dim = GetParam().dim, off = GetParam().offset;
  const std::vector<float> x = random_values(std::size_t(rows) * dim, 4, 0.f, 2.f), scale = random_values(dim, 5, 1.f, 0.1f);
  std::vector<double> want(x.size());
  for (int r = 0; r < rows; ++r) {
    double sum = 0;
    for (int i = 0; i < dim; ++i) sum += double(x[std::size_t(r) * dim + i]) * x[std::size_t(r) * dim + i];
    const double inv = 1.0 / std::sqrt(sum / dim + 1e-5);
    for (int i = 0; i < dim; ++i) want[std::size_t(r) * dim + i] = x[std::size_t(r) * dim + i] * inv * scale[i];
  }
  CudaContext ctx;
  cudaStream_t st = ctx.stream();
  Placed<float> dx(x, off, st), ds(scale, off, st), dout(std::vector<float>(x.size()), off, st);
  rms_norm<float>({dx.data(), ds.data(), dout.data(), rows, dim, 1e-5f}, st);
  EXPECT_LT(relative_error(dout.download(x.size(), st), want), 1e-6);
}

TEST_P(CudaElementwise, GatedActivationBf16MatchesCpu) {
  HD_REQUIRE_CUDA_DEVICE();
  const int rows = 9, inner = GetParam().dim, off = GetParam().offset;
  const std::vector<float> ab = random_values(std::size_t(rows) * 2 * inner, 6, 0.f, 2.f);
  for (GateActivation act : {GateActivation::silu, GateActivation::gelu}) {
    std::vector<double> want(std::size_t(rows) * inner);
    for (int r = 0; r < rows; ++r) {
      for (int i = 0; i < inner; ++i) {
        const double a = ab[std::size_t(r) * 2 * inner + i], b = ab[std::size_t(r) * 2 * inner + inner + i];
        const double g = act == GateActivation::silu ? a / (1 + std::exp(-a)) : 0.5 * a * (1 + std::erf(a / std::sqrt(2.0)));
        want[std::size_t(r) * inner + i] = g * b;
      }
    }
    CudaContext ctx;
    cudaStream_t st = ctx.stream();
    Placed<bf16> dab(to_bf16(ab), off, st), dout(std::vector<bf16>(want.size()), off, st);
    gated_activation<bf16>(dab.data(), dout.data(), rows, inner, act, st);
    EXPECT_LT(relative_error(to_float(dout.download(want.size(), st)), want), 4e-3) << (act == GateActivation::silu ? "silu" : "gelu");
  }
}

TEST_P(CudaElementwise, BiasResidualEmbeddingAndConvertMatchCpu) {
  HD_REQUIRE_CUDA_DEVICE();
  const int rows = 11, dim = GetParam().dim, off = GetParam().offset;
  const std::vector<float> y = random_values(std::size_t(rows) * dim, 7), bias = random_values(dim, 8);
  const std::vector<float> x = random_values(y.size(), 9);
  std::vector<double> want_y(y.size()), want_x(y.size());
  for (std::size_t k = 0; k < y.size(); ++k) {
    want_y[k] = double(y[k]) + bias[k % dim];
    want_x[k] = double(x[k]) + y[k] + bias[k % dim];
  }
  CudaContext ctx;
  cudaStream_t st = ctx.stream();
  {
    Placed<float> dy(y, off, st), db(bias, off, st);
    bias_add<float>(dy.data(), db.data(), rows, dim, st);
    EXPECT_LT(relative_error(dy.download(y.size(), st), want_y), 2e-7);
  }
  {
    Placed<float> dx(x, off, st);
    Placed<bf16> dy(to_bf16(y), off, st), db(to_bf16(bias), off, st);
    residual_add<bf16>(dx.data(), dy.data(), db.data(), rows, dim, st);
    EXPECT_LT(relative_error(dx.download(x.size(), st), want_x), 2e-7);
  }
  {
    // Rows of a table of 7 picked by token id, in float32.
    const std::vector<float> table = random_values(std::size_t(7) * dim, 10);
    const std::vector<int> tokens = {3, 0, 6, 6, 1, 2, 5, 4, 3, 0, 1};
    std::vector<double> want(std::size_t(rows) * dim);
    for (int r = 0; r < rows; ++r)
      for (int i = 0; i < dim; ++i) want[std::size_t(r) * dim + i] = table[std::size_t(tokens[r]) * dim + i];
    Placed<int> dt(tokens, 0, st);
    Placed<bf16> dtable(to_bf16(table), off, st);
    Placed<float> dout(std::vector<float>(want.size()), off, st);
    embedding_gather<bf16>(dt.data(), dtable.data(), dout.data(), rows, dim, st);
    EXPECT_EQ(relative_error(dout.download(want.size(), st), want), 0.0);
  }
  {
    // A count with a tail past the last whole chunk of 8.
    const long long count = static_cast<long long>(y.size()) - 3;
    std::vector<float> in(y.begin(), y.begin() + count);
    Placed<float> din(in, off, st);
    Placed<bf16> dout(std::vector<bf16>(count), off, st);
    convert<float, bf16>(din.data(), dout.data(), count, st);
    EXPECT_EQ(to_float(dout.download(count, st)), in);  // bf16-exact inputs convert exactly
  }
}

INSTANTIATE_TEST_SUITE_P(Widths, CudaElementwise,
                         ::testing::Values(Shape{4096, 0}, Shape{1536, 0}, Shape{1000, 1}, Shape{1001, 0}),
                         [](const ::testing::TestParamInfo<Shape>& shape_info) {
                           return "dim" + std::to_string(shape_info.param.dim) + (shape_info.param.offset ? "_unaligned" : "");
                         });

// Rotary: q rotated into q_out, k rotated and v copied into the caches at their absolute rows.
void check_rotary(int head_dim, bool device_position) {
  const int rows = 6, heads = 4, kv_heads = 2, slots = heads + 2 * kv_heads, half = head_dim / 2;
  const long long first = 1000, capacity = first + rows + 2;
  const float base = 10000.f;
  const double scaling = 2.0;
  const std::vector<float> qkv = random_values(std::size_t(rows) * slots * head_dim, 11);
  const int kv_width = kv_heads * head_dim;
  std::vector<double> want_q(std::size_t(rows) * heads * head_dim), want_k(std::size_t(rows) * kv_width),
      want_v(want_k.size());
  for (int r = 0; r < rows; ++r) {
    for (int slot = 0; slot < slots; ++slot) {
      const float* src = qkv.data() + (std::size_t(r) * slots + slot) * head_dim;
      for (int i = 0; i < half; ++i) {
        const double angle = (double(first + r) / scaling) / std::pow(double(base), 2.0 * i / head_dim);
        const double c = std::cos(angle), s = std::sin(angle), x1 = src[i], x2 = src[i + half];
        double o1 = x1 * c - x2 * s, o2 = x1 * s + x2 * c;
        std::vector<double>* dst = &want_q;
        std::size_t at = (std::size_t(r) * heads + slot) * head_dim;
        if (slot >= heads + kv_heads) {
          dst = &want_v, at = std::size_t(r) * kv_width + (slot - heads - kv_heads) * head_dim, o1 = x1, o2 = x2;
        } else if (slot >= heads) {
          dst = &want_k, at = std::size_t(r) * kv_width + (slot - heads) * head_dim;
        }
        (*dst)[at + i] = o1;
        (*dst)[at + i + half] = o2;
      }
    }
  }
  CudaContext ctx;
  cudaStream_t st = ctx.stream();
  DeviceBuffer<bf16> dqkv(qkv.size()), dq(want_q.size()), dk(capacity * kv_width), dv(capacity * kv_width);
  dqkv.upload(to_bf16(qkv), st);
  DeviceBuffer<long long> dpos(1);
  dpos.upload({first}, st);
  RotaryCacheParams<bf16> p;
  p.qkv = dqkv.data();
  p.q_out = dq.data();
  p.k_cache = dk.data();
  p.v_cache = dv.data();
  p.rows = rows, p.heads = heads, p.kv_heads = kv_heads, p.head_dim = head_dim;
  p.first_position = device_position ? 0 : first;
  p.device_position = device_position ? dpos.data() : nullptr;
  p.base = base;
  p.scaling = scaling;
  rotary_qkv_to_cache<bf16>(p, st);
  const std::vector<float> k_all = to_float(dk.download(st)), v_all = to_float(dv.download(st));
  const std::vector<float> k(k_all.begin() + first * kv_width, k_all.begin() + (first + rows) * kv_width);
  const std::vector<float> v(v_all.begin() + first * kv_width, v_all.begin() + (first + rows) * kv_width);
  // One bf16 rounding, and float32 angles near position 500: a few 1e-3 at most.
  EXPECT_LT(relative_error(to_float(dq.download(st)), want_q), 4e-3);
  EXPECT_LT(relative_error(k, want_k), 4e-3);
  EXPECT_EQ(relative_error(v, want_v), 0.0);  // v is copied exactly
}

TEST(CudaRotary, RowKernelMatchesCpu) {
  HD_REQUIRE_CUDA_DEVICE();
  check_rotary(128, false);
  check_rotary(128, true);  // decode graphs read the position on the device
}

TEST(CudaRotary, ScalarKernelMatchesCpu) {
  HD_REQUIRE_CUDA_DEVICE();
  check_rotary(8, false);  // head_dim 8: not a multiple of 16, the per-element kernel
  check_rotary(8, true);
}

}  // namespace
}  // namespace hd
