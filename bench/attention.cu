// bench_attention: our causal GQA attention kernels alone, at the 7B model's attention shape
// (32 query heads, 8 kv heads, head dim 128, bf16), against the bf16 GEMM peak of the same run.
//   full:  one call over a whole prompt of L tokens (queries 0..L-1, keys 0..L-1);
//   chunk: the last 8192-token chunk of an L-token chunked prefill (queries L-8192..L-1).
// decode: one query row over an L-token cache, as a decode step calls it (GB/s of cache read).
// Kernels: wgmma (Hopper), wgmma-overlap (the same plus FA3's intra-warpgroup overlap) and the
// mma.sync FlashAttention-2 kernel. Their outputs are compared
// with each other on every shape (relative L2), so a fast wrong kernel shows.
// bench/peers/attention_peers.py measures PyTorch's FlashAttention-2 and cuDNN on the same shapes.
// --parts 1: also the wgmma kernel with one stage left out (attention_parts.h), whole prompts
// only: the milliseconds each stage costs, and what the stages fail to overlap.
// Options: --lengths 8192,32768,131072  --reps N  --parts 0|1
#include <cuda_bf16.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "bench_args.h"
#include "bench_report.h"
#include "gpu_peaks.h"
#include "gpu_timing.h"
#include "hd/kernels/attention.h"
#include "hd/kernels/attention_parts.h"
#include "hd/kernels/cuda_check.h"
#include "hd/kernels/cuda_context.h"
#include "hd/kernels/device.h"

namespace {

constexpr int kHeads = 32, kKvHeads = 8, kHeadDim = 128, kChunk = 8192;

std::vector<long long> parse_lengths(const std::string& s) {
  std::vector<long long> out;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');) out.push_back(std::stoll(item));
  return out;
}

// Causal attention FLOPs (QK^T and PV, 2 per multiply-add) of `rows` queries starting at `first`.
double attention_flops(long long rows, long long first) {
  const double keys_seen = static_cast<double>(rows) * first + static_cast<double>(rows) * (rows + 1) / 2.0;
  return 4.0 * keys_seen * kHeadDim * kHeads;
}

__global__ void fill_random(__nv_bfloat16* x, long long n, unsigned seed) {
  for (long long i = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<long long>(gridDim.x) * blockDim.x) {
    unsigned h = static_cast<unsigned>(i) * 2654435761u ^ seed;
    h ^= h >> 15;
    h *= 2246822519u;
    h ^= h >> 13;
    x[i] = __float2bfloat16((static_cast<float>(h & 0xffff) / 65535.f - 0.5f) * 4.f);
  }
}

double relative_l2(const std::vector<__nv_bfloat16>& a, const std::vector<__nv_bfloat16>& b) {
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double x = __bfloat162float(a[i]), y = __bfloat162float(b[i]);
    num += (x - y) * (x - y);
    den += y * y;
  }
  return std::sqrt(num / std::max(den, 1e-30));
}

}  // namespace

int main(int argc, char** argv) {
  using namespace hd;
  if (const DeviceInfo dev = query_device(0); !dev.available) {
    std::cerr << "bench_attention: no CUDA device (" << dev.reason << ")\n";
    return 1;
  }
  const auto lengths = parse_lengths(hd::bench::arg_text(argc, argv, "--lengths", "8192,32768,131072"));
  const int reps = hd::bench::arg_int(argc, argv, "--reps", 3);
  const bool parts = hd::bench::arg_int(argc, argv, "--parts", 0) != 0;
  CudaContext ctx;
  bench::BenchReport report("attention");
  const bench::GpuPeaks peaks = bench::measure_gpu_peaks(ctx);
  report.set("shape", "causal GQA, 32 query heads, 8 kv heads, head dim 128, bf16, batch 1");
  report.set("measured_bf16_gemm_tflops", peaks.gemm_tflops);
  const bool hopper = attention_wgmma_available();

  const long long max_len = *std::max_element(lengths.begin(), lengths.end());
  DeviceBuffer<__nv_bfloat16> k(max_len * kKvHeads * kHeadDim), v(k.size());
  DeviceBuffer<__nv_bfloat16> q(max_len * kHeads * kHeadDim), out(q.size()), ref(q.size());
  fill_random<<<1024, 256, 0, ctx.stream()>>>(k.data(), static_cast<long long>(k.size()), 1u);
  fill_random<<<1024, 256, 0, ctx.stream()>>>(v.data(), static_cast<long long>(v.size()), 2u);
  fill_random<<<1024, 256, 0, ctx.stream()>>>(q.data(), static_cast<long long>(q.size()), 3u);
  HD_CHECK_LAUNCH();

  for (const long long L : lengths) {
    for (const std::string mode : {"full", "chunk"}) {
      if (mode == "chunk" && L <= kChunk) continue;
      const long long first = mode == "full" ? 0 : L - kChunk;
      const int rows = static_cast<int>(L - first);
      AttentionParams<__nv_bfloat16> p{q.data(), k.data(), v.data(), out.data(), rows, kHeads, kKvHeads, kHeadDim, first};
      std::vector<std::pair<std::string, AttentionKernel>> kernels;
      if (hopper) {
        kernels.emplace_back("wgmma", AttentionKernel::wgmma);
        kernels.emplace_back("wgmma-overlap", AttentionKernel::wgmma_overlap);
      }
      kernels.emplace_back("fa2", AttentionKernel::fa2);
      std::vector<__nv_bfloat16> first_out;
      for (const auto& [name, kernel] : kernels) {
        const double s = bench::median_ms(ctx, reps, [&, kernel = kernel] { causal_attention(p, ctx.stream(), kernel); }, 1) / 1e3;
        const double tflops = attention_flops(rows, first) / s / 1e12;
        std::vector<__nv_bfloat16> got(static_cast<size_t>(rows) * kHeads * kHeadDim);
        HD_CUDA_CHECK(cudaMemcpyAsync(got.data(), out.data(), got.size() * sizeof(__nv_bfloat16), cudaMemcpyDeviceToHost,
                                      ctx.stream()));
        ctx.synchronize();
        double diff = 0;
        if (first_out.empty()) first_out = got;
        else diff = relative_l2(got, first_out);
        report.add_row({{"kernel", name}, {"mode", mode}, {"tokens", L}, {"query_rows", rows}, {"ms", s * 1e3},
                        {"tflops", tflops}, {"vs_gemm_peak", tflops / peaks.gemm_tflops},
                        {"rel_l2_vs_first_kernel", diff}});
      }
      if (parts && hopper && mode == "full") {
        const std::pair<const char*, WgmmaLeaveOut> variants[] = {{"wgmma", WgmmaLeaveOut::nothing},
                                                                  {"wgmma without S=QK^T", WgmmaLeaveOut::scores_gemm},
                                                                  {"wgmma without softmax", WgmmaLeaveOut::softmax},
                                                                  {"wgmma without O+=PV", WgmmaLeaveOut::pv_gemm}};
        double whole_ms = 0;
        for (const auto& [name, part] : variants) {
          const double ms = bench::median_ms(ctx, reps, [&, part = part] { wgmma_attention_leaving_out(p, ctx.stream(), part); }, 1);
          if (part == WgmmaLeaveOut::nothing) whole_ms = ms;
          report.add_row({{"kernel", name}, {"mode", "parts"}, {"tokens", L}, {"query_rows", rows}, {"ms", ms},
                          {"stage_ms", whole_ms - ms}});
        }
      }
    }
  }
  // decode: one query row over L keys, launched as the engine's graph launches it (position on the
  // device, grid sized for the whole buffer, caller scratch). Consecutive calls read different
  // L-key caches laid end to end in the buffers, so the cache comes from memory, not L2, as it
  // does in a decode step where the weights stream between the layers.
  {
    const long long capacity = max_len;
    DeviceBuffer<float> scratch(attention_decode_scratch_floats(kHeads, kHeadDim, capacity));
    HD_CUDA_CHECK(cudaMemsetAsync(scratch.data(), 0, scratch.bytes(), ctx.stream()));
    DeviceBuffer<long long> position(1);
    for (const long long L : lengths) {
      const long long caches = std::max<long long>(1, max_len / L);
      const int calls = static_cast<int>(std::max<long long>(caches, 16));
      position.upload(std::vector<long long>{L - 1}, ctx.stream());
      AttentionParams<__nv_bfloat16> p{q.data(), k.data(), v.data(), out.data(), 1, kHeads, kKvHeads, kHeadDim, L - 1};
      p.device_position = position.data();
      p.capacity = capacity;
      p.decode_scratch = scratch.data();
      const double ms = bench::median_ms(ctx, reps, [&] {
        for (int c = 0; c < calls; ++c) {
          AttentionParams<__nv_bfloat16> at = p;
          at.k_cache = k.data() + (c % caches) * L * kKvHeads * kHeadDim;
          at.v_cache = v.data() + (c % caches) * L * kKvHeads * kHeadDim;
          causal_attention(at, ctx.stream());
        }
      }) / calls;
      const double cache_bytes = 2.0 * L * kKvHeads * kHeadDim * sizeof(__nv_bfloat16);
      const double tbps = cache_bytes / (ms / 1e3) / 1e12;
      report.add_row({{"kernel", "decode"}, {"mode", "decode"}, {"tokens", L}, {"query_rows", 1}, {"us", ms * 1e3},
                      {"cache_tbps", tbps}, {"vs_copy_bw", tbps / peaks.copy_tbps}});
    }
  }
  report.set("measured_copy_tbps", peaks.copy_tbps);
  report.note("full: one call over the whole prompt; chunk: the last 8192-token chunk of a chunked prefill");
  report.note("decode: one row over L keys (us a call, cache bytes read per second against the copy bandwidth)");
  report.note("rel_l2_vs_first_kernel: output of this kernel against the first kernel listed for the shape");
  if (parts) report.note("parts: the wgmma kernel with one stage left out (wrong outputs by design); stage_ms: what that stage costs");
  report.print_table(std::cout);
  std::cout << "results: " << report.write_json().string() << "\n";
  return 0;
}
