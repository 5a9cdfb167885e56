// causal_attention (FA2 tensor-core path for bf16 head_dim 64/128, split-K for one row, warp
// path otherwise) against
// a float64 CPU computation on the same bf16 inputs.
#include <cuda_bf16.h>
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "hd/kernels/attention.h"
#include "hd/kernels/cuda_context.h"
#include "support/temp_dir.h"

namespace hd {
namespace {

struct Shape {
  int rows, heads, kv_heads, head_dim;
  long long first_position;
};

// Relative L2 error of `out` against softmax(q k^T / sqrt(d)) v computed in float64 from the
// same bf16 inputs (query row r at position s.first_position + r).
double relative_error_vs_float64(const Shape& s, const std::vector<__nv_bfloat16>& q, const std::vector<__nv_bfloat16>& k,
                                 const std::vector<__nv_bfloat16>& v, const std::vector<__nv_bfloat16>& out) {
  const int qw = s.heads * s.head_dim, kvw = s.kv_heads * s.head_dim;
  double num = 0, den = 0;
  const int group = s.heads / s.kv_heads;
  for (int r = 0; r < s.rows; ++r) {
    for (int h = 0; h < s.heads; ++h) {
      const long long visible = s.first_position + r + 1;
      std::vector<double> w(visible);
      double mx = -1e300, sum = 0;
      for (long long j = 0; j < visible; ++j) {
        double dot = 0;
        for (int d = 0; d < s.head_dim; ++d) {
          dot += double(__bfloat162float(q[r * qw + h * s.head_dim + d])) *
                 __bfloat162float(k[j * kvw + (h / group) * s.head_dim + d]);
        }
        w[j] = dot / std::sqrt(double(s.head_dim));
        mx = std::max(mx, w[j]);
      }
      for (auto& x : w) sum += x = std::exp(x - mx);
      for (int d = 0; d < s.head_dim; ++d) {
        double want = 0;
        for (long long j = 0; j < visible; ++j) want += w[j] / sum * __bfloat162float(v[j * kvw + (h / group) * s.head_dim + d]);
        const double got = __bfloat162float(out[r * qw + h * s.head_dim + d]);
        if (!std::isfinite(got)) return INFINITY;
        num += (got - want) * (got - want);
        den += want * want;
      }
    }
  }
  return std::sqrt(num / den);
}

// Random bf16 q (s.rows rows) and k, v (`keys` rows) on the host, their device copies, and an
// output buffer of NaNs (0xff bytes), so values a kernel fails to write show.
struct AttentionInputs {
  std::vector<__nv_bfloat16> q, k, v;
  DeviceBuffer<__nv_bfloat16> dq, dk, dv, dout;

  AttentionParams<__nv_bfloat16> params(const Shape& s) {
    return {dq.data(), dk.data(), dv.data(), dout.data(), s.rows, s.heads, s.kv_heads, s.head_dim, s.first_position};
  }
};

AttentionInputs random_inputs(const Shape& s, long long keys, unsigned seed, cudaStream_t stream) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> n(0.f, 1.f);
  const int qw = s.heads * s.head_dim, kvw = s.kv_heads * s.head_dim;
  AttentionInputs in{std::vector<__nv_bfloat16>(static_cast<size_t>(s.rows) * qw), std::vector<__nv_bfloat16>(keys * kvw),
                     std::vector<__nv_bfloat16>(keys * kvw)};
  for (auto* buf : {&in.q, &in.k, &in.v}) {
    for (auto& x : *buf) x = __float2bfloat16(n(gen));
  }
  in.dq = DeviceBuffer<__nv_bfloat16>(in.q.size());
  in.dk = DeviceBuffer<__nv_bfloat16>(in.k.size());
  in.dv = DeviceBuffer<__nv_bfloat16>(in.v.size());
  in.dout = DeviceBuffer<__nv_bfloat16>(in.q.size());
  in.dq.upload(in.q, stream);
  in.dk.upload(in.k, stream);
  in.dv.upload(in.v, stream);
  HD_CUDA_CHECK(cudaMemsetAsync(in.dout.data(), 0xff, in.dout.bytes(), stream));
  return in;
}

// graph_capacity > 0: a one-row call the way a captured decode graph makes it, the position read
// from device memory and the launch sized for `graph_capacity` keys.
double run_case(const Shape& s, AttentionKernel kernel = AttentionKernel::automatic, long long graph_capacity = 0) {
  CudaContext ctx;
  AttentionInputs in = random_inputs(s, s.first_position + s.rows, s.rows * 7 + s.head_dim, ctx.stream());
  AttentionParams<__nv_bfloat16> p = in.params(s);
  DeviceBuffer<long long> position(1);
  if (graph_capacity > 0) {
    position.upload(std::vector<long long>{s.first_position}, ctx.stream());
    p.device_position = position.data();
    p.capacity = graph_capacity;
  }
  causal_attention(p, ctx.stream(), kernel);
  return relative_error_vs_float64(s, in.q, in.k, in.v, in.dout.download(ctx.stream()));
}

TEST(CudaAttention, TensorCorePathMatchesFloat64) {
  HD_REQUIRE_CUDA_DEVICE();
  // Rows not a multiple of the 64-row tile, a cache offset not a multiple of the key tile.
  EXPECT_LT(run_case({150, 8, 2, 128, 77}), 1e-2);
  EXPECT_LT(run_case({70, 4, 4, 64, 0}), 1e-2);
  EXPECT_LT(run_case({200, 4, 1, 128, 0}), 1e-2);    // a chunk starting at position 0, diagonal tiles
  EXPECT_LT(run_case({64, 8, 8, 128, 1000}), 1e-2);  // a later chunk over a long cache
}

TEST(CudaAttention, HopperWgmmaKernelMatchesFloat64) {
  HD_REQUIRE_CUDA_DEVICE();
  if (!attention_wgmma_available()) GTEST_SKIP() << "skipped: no CUDA device of compute capability 9.0 (the wgmma kernel needs one)";
  for (const auto k : {AttentionKernel::wgmma, AttentionKernel::wgmma_overlap}) {
    SCOPED_TRACE(k == AttentionKernel::wgmma ? "wgmma" : "wgmma_overlap");
    EXPECT_LT(run_case({150, 8, 2, 128, 77}, k), 1e-2);    // rows not a multiple of 128, odd cache offset
    EXPECT_LT(run_case({300, 4, 1, 128, 0}, k), 1e-2);     // from position 0: diagonal tiles, a partial last block
    EXPECT_LT(run_case({128, 8, 8, 128, 1000}, k), 1e-2);  // a later chunk over a long cache
    EXPECT_LT(run_case({17, 32, 8, 128, 4000}, k), 1e-2);  // a short follow-up question at the 7B head layout
  }
}

TEST(CudaAttention, Fa2KernelStillMatchesFloat64OnHopper) {
  HD_REQUIRE_CUDA_DEVICE();
  EXPECT_LT(run_case({150, 8, 2, 128, 77}, AttentionKernel::fa2), 1e-2);
  EXPECT_LT(run_case({300, 4, 1, 128, 0}, AttentionKernel::fa2), 1e-2);
}

TEST(CudaAttention, WarpPathMatchesFloat64ForOtherShapesAndDecode) {
  HD_REQUIRE_CUDA_DEVICE();
  EXPECT_LT(run_case({33, 4, 2, 48, 5}), 1e-2);   // head_dim 48: warp kernel
  EXPECT_LT(run_case({1, 8, 2, 128, 300}), 1e-2);  // decode: one row over a long cache
}

TEST(CudaAttention, DecodeWarpKernelMatchesFloat64ForEveryGroupSize) {
  HD_REQUIRE_CUDA_DEVICE();
  // bf16, head_dim 128: the warp-per-batch decode kernel, group sizes 1, 2, 4 (the 7B's), 8;
  // key counts that leave partial batches and splits.
  EXPECT_LT(run_case({1, 4, 4, 128, 4999}), 1e-2);
  EXPECT_LT(run_case({1, 8, 4, 128, 777}), 1e-2);
  EXPECT_LT(run_case({1, 32, 8, 128, 8190}), 1e-2);
  EXPECT_LT(run_case({1, 16, 2, 128, 70}), 1e-2);
  EXPECT_LT(run_case({1, 32, 8, 128, 0}), 1e-2);  // the very first token: one key
}

TEST(CudaAttention, DecodeSizedForGraphCapacityUsesOnlyTheKeysPresent) {
  HD_REQUIRE_CUDA_DEVICE();
  // Launch sized for 100k keys, 60000 and then 3000 present: splits past them must not count (their scratch
  // holds whatever the last call left).
  EXPECT_LT(run_case({1, 32, 8, 128, 60000}, AttentionKernel::automatic, 100001), 1e-2);
  EXPECT_LT(run_case({1, 32, 8, 128, 2999}, AttentionKernel::automatic, 100001), 1e-2);
  EXPECT_LT(run_case({1, 8, 2, 48, 2999}, AttentionKernel::automatic, 100001), 1e-2);  // generic kernel
}

TEST(CudaAttention, DecodeGraphReplayedAsTheCacheGrowsMatchesFloat64AtEveryStep) {
  HD_REQUIRE_CUDA_DEVICE();
  // The engine's decode step: one launch captured in a CUDA graph (position read on the device,
  // caller scratch zeroed once) and replayed at each position. The merge counters the kernel
  // keeps in that scratch must be back at zero after every replay, or later steps merge too early.
  constexpr long long kCapacity = 9000;
  const Shape shape{1, 32, 8, 128, 0};
  CudaContext ctx;
  AttentionInputs in = random_inputs(shape, kCapacity, 11, ctx.stream());
  DeviceBuffer<long long> position(1);
  DeviceBuffer<float> scratch(attention_decode_scratch_floats(shape.heads, shape.head_dim, kCapacity));
  HD_CUDA_CHECK(cudaMemsetAsync(scratch.data(), 0, scratch.bytes(), ctx.stream()));
  AttentionParams<__nv_bfloat16> p = in.params(shape);
  p.device_position = position.data();
  p.capacity = kCapacity;
  p.decode_scratch = scratch.data();

  position.upload(std::vector<long long>{0}, ctx.stream());
  causal_attention(p, ctx.stream());  // eager first, as the engine's first step is
  cudaGraph_t graph = nullptr;
  cudaGraphExec_t exec = nullptr;
  HD_CUDA_CHECK(cudaStreamBeginCapture(ctx.stream(), cudaStreamCaptureModeThreadLocal));
  causal_attention(p, ctx.stream());
  HD_CUDA_CHECK(cudaStreamEndCapture(ctx.stream(), &graph));
  HD_CUDA_CHECK(cudaGraphInstantiate(&exec, graph, 0));
  for (const long long at : {0LL, 63LL, 64LL, 4095LL, 8999LL, 100LL, 8999LL}) {
    SCOPED_TRACE("position " + std::to_string(at));
    position.upload(std::vector<long long>{at}, ctx.stream());
    HD_CUDA_CHECK(cudaMemsetAsync(in.dout.data(), 0xff, in.dout.bytes(), ctx.stream()));
    HD_CUDA_CHECK(cudaGraphLaunch(exec, ctx.stream()));
    Shape at_shape = shape;
    at_shape.first_position = at;
    EXPECT_LT(relative_error_vs_float64(at_shape, in.q, in.k, in.v, in.dout.download(ctx.stream())), 1e-2);
  }
  cudaGraphExecDestroy(exec);
  cudaGraphDestroy(graph);
}

}  // namespace
}  // namespace hd
