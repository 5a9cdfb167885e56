// bench_gpu_engine: our CUDA backend on the StripedHyena-7B shape with random weights.
//   --lengths 8192,32768,65536,131072   prompt lengths (batch 1)
//   --decode 32                         decode steps after each prefill (median step time)
//   --chunk 8192                        prefill chunk (working memory is sized to it)
//   --model DIR                         a model folder (its own config), or where a random 7B-shape
//                                       checkpoint is written (bf16, seed 1) when absent
//   --long-conv scan,fft                the Hyena long convolution methods to measure (prefill)
//   --disk-tier 1                       at the longest length, also write the state as a snapshot
//                                       file and time a follow-up restored from it
//   --profile-decode-step N             bracket decode step N (0-based) with cudaProfilerStart/Stop, so
//                                       `ncu --profile-from-start off` records that one step and no
//                                       prefill (a profile from the start ran out of time in the
//                                       prefill's first 333 kernels)
// Per length: prefill time, time to first token, decode tokens/s, device memory in use,
// inference cache bytes; against the bf16 GEMM rate and the copy bandwidth measured in the
// same run. Results are written after every length, so a long run that is cut keeps them.
#include <cuda_profiler_api.h>
#include <cuda_runtime_api.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <random>
#include <sstream>

#include "bench_args.h"
#include "bench_report.h"
#include "gpu_peaks.h"
#include "hd/engine/backend.h"
#include "hd/engine/checkpoint.h"
#include "hd/engine/model_presets.h"
#include "hd/engine/random_checkpoint.h"
#include "hd/engine/session.h"

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

std::vector<long long> parse_list(const std::string& s) {
  std::vector<long long> out;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');) out.push_back(std::stoll(item));
  return out;
}

double device_used_gib() {
  size_t free_b = 0, total_b = 0;
  HD_CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
  return static_cast<double>(total_b - free_b) / (1ull << 30);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const auto lengths = parse_list(hd::bench::arg_text(argc, argv, "--lengths", "8192,32768,65536,131072"));
    const int decode_steps = hd::bench::arg_int(argc, argv, "--decode", 32);
    const int profiled_step = hd::bench::arg_int(argc, argv, "--profile-decode-step", -1);
    const int chunk = hd::bench::arg_int(argc, argv, "--chunk", 8192);
    const std::filesystem::path model = hd::bench::arg_text(argc, argv, "--model", "/tmp/hd-7b");
    const std::string methods = hd::bench::arg_text(argc, argv, "--long-conv", "scan");
    const bool disk_tier = hd::bench::arg_int(argc, argv, "--disk-tier", 0) != 0;
    const bool random_7b = !std::filesystem::exists(model / "config.json");
    hd::bench::BenchReport report(random_7b ? "gpu_engine" : "gpu_engine-" + model.filename().string());
    if (random_7b) {
      auto t = Clock::now();
      hd::write_random_checkpoint(hd::preset_config("7b"), model, {.seed = 1, .dtype = hd::DType::bf16});
      report.set("checkpoint_write_s", since(t));
    }
    auto t = Clock::now();
    auto ck = hd::Checkpoint::open(model);
    const hd::ModelConfig& config = ck->config();  // an existing folder (a real or grafted model) brings its own
    auto backend = hd::make_cuda_backend(*ck, {.float32 = false, .max_chunk = chunk});
    report.set("model", (random_7b ? std::string("StripedHyena-7B shape, random bf16 weights")
                                   : model.filename().string() + " (" + std::to_string(config.num_attention_blocks()) +
                                         " attention, " + std::to_string(config.num_layers - config.num_attention_blocks()) +
                                         " Hyena blocks)") +
                            " (" + std::to_string(config.parameter_count()) + " parameters), batch 1");
    report.set("load_and_upload_s", since(t));
    report.set("prefill_chunk", chunk);
    report.set("decode_steps", decode_steps);
    report.set("device_memory_after_load_gib", device_used_gib());

    hd::CudaContext ctx;
    const hd::bench::GpuPeaks peaks = hd::bench::measure_gpu_peaks(ctx);
    report.set("measured_bf16_gemm_tflops", peaks.gemm_tflops);
    report.set("measured_copy_tbps", peaks.copy_tbps);

    const double d = config.hidden_size, f = config.inner_mlp_size, kv = config.num_kv_heads * config.head_dim();
    double linear_flops_per_token = 0;
    for (hd::BlockKind k : config.blocks) {
      linear_flops_per_token +=
          2 * 3 * d * f + (k == hd::BlockKind::attention ? 2 * ((d + 2 * kv) * d + d * d) : 2 * (3 * d * d + d * d));
    }
    const double weight_bytes = 2.0 * static_cast<double>(config.parameter_count());

    for (long long L : lengths) {
      for (const std::string method : {"scan", "fft"}) {
        if (methods.find(method) == std::string::npos) continue;
        const hd::LongConvMethod long_conv = method == "fft" ? hd::LongConvMethod::fft : hd::LongConvMethod::recurrence;
        std::mt19937 g(static_cast<unsigned>(L));
        std::uniform_int_distribution<int> tok(3, config.vocab_size - 1);
        std::vector<int> prompt(static_cast<size_t>(L));
        for (auto& x : prompt) x = tok(g);
        nlohmann::ordered_json row = {{"prompt_tokens", L}, {"long_conv", method}};
        try {
          hd::Session session(*backend, ck->fingerprint(),
                              {.long_conv = long_conv, .max_positions = L + decode_steps + 1});
          HD_CUDA_CHECK(cudaDeviceSynchronize());
          t = Clock::now();
          std::vector<float> logits = session.prefill(prompt);
          const double prefill_s = since(t);
          int next = static_cast<int>(std::max_element(logits.begin(), logits.end()) - logits.begin());
          const double ttft_s = since(t);
          t = Clock::now();
          auto saved = session.save();  // the document's state in pinned host memory
          const double save_s = since(t);
          std::vector<double> steps;
          for (int s = 0; s < decode_steps; ++s) {
            if (s == profiled_step) HD_CUDA_CHECK(cudaProfilerStart());
            auto ts = Clock::now();
            logits = session.decode(next);
            steps.push_back(since(ts));
            if (s == profiled_step) HD_CUDA_CHECK(cudaProfilerStop());
            next = static_cast<int>(std::max_element(logits.begin(), logits.end()) - logits.begin());
          }
          std::sort(steps.begin(), steps.end());
          const double step = steps[steps.size() / 2];

          // A follow-up question: the document's state (saved to host memory right after the
          // prefill) resumed by a fresh session, which reads a 64-token question; time to its
          // first token.
          std::vector<int> question(64);
          for (auto& x : question) x = tok(g);
          hd::Session followup(*backend, ck->fingerprint(), {.long_conv = long_conv, .max_positions = L + 65});
          HD_CUDA_CHECK(cudaDeviceSynchronize());
          t = Clock::now();
          followup.resume(*saved);
          std::vector<float> answer = followup.prefill(question);
          const int first = static_cast<int>(std::max_element(answer.begin(), answer.end()) - answer.begin());
          const double followup_ttft_s = since(t);
          // The same save again once the first is dropped: the pinned buffer comes from the
          // backend's pool (what a prefill cache's saves cost after the first).
          saved.reset();
          t = Clock::now();
          saved = session.save();
          const double pooled_save_s = since(t);
          // The disk tier: the state written as a snapshot file and read back (--disk-tier).
          double disk_write_s = -1, disk_ttft_s = -1;
          if (disk_tier && L == lengths.back()) {
            const std::filesystem::path file = "/tmp/hd-bench-state.bin";
            t = Clock::now();
            followup.snapshot(file);
            disk_write_s = since(t);
            hd::Session from_disk(*backend, ck->fingerprint(), {.long_conv = long_conv, .max_positions = L + 200});
            HD_CUDA_CHECK(cudaDeviceSynchronize());
            t = Clock::now();
            from_disk.restore(file);
            std::vector<float> again = from_disk.prefill(question);
            disk_ttft_s = since(t);
            std::filesystem::remove(file);
          }
          if (first < 0) return 1;  // keeps the sampling in the timed region
          // Causal attention: QK^T and PV over half the prompt on average, per attention block.
          const double attn_flops = config.num_attention_blocks() * 2.0 * 2.0 * d * static_cast<double>(L) * L / 2.0;
          const double prefill_flops = linear_flops_per_token * L + attn_flops;
          const double cache_bytes = static_cast<double>(config.kv_cache_bytes(L)) + config.hyena_state_bytes();
          const double decode_bytes = weight_bytes + cache_bytes;  // every weight and the cache read once per token
          row["prefill_s"] = prefill_s;
          row["ttft_s"] = ttft_s;
          row["prefill_tflops"] = prefill_flops / prefill_s / 1e12;
          row["vs_gemm_peak"] = prefill_flops / prefill_s / 1e12 / peaks.gemm_tflops;
          row["decode_tok_per_s"] = 1.0 / step;
          row["decode_vs_copy_bw"] = decode_bytes / step / 1e12 / peaks.copy_tbps;
          row["cache_gib"] = cache_bytes / (1ull << 30);
          row["state_save_s"] = save_s;
          row["followup_ttft_s"] = followup_ttft_s;
          row["state_save_pooled_s"] = pooled_save_s;
          if (disk_write_s >= 0) {
            row["state_disk_write_s"] = disk_write_s;
            row["followup_from_disk_ttft_s"] = disk_ttft_s;
          }
          row["device_used_gib"] = device_used_gib();
        } catch (const std::exception& e) {
          row["error"] = e.what();
        }
        report.add_row(row);
        std::cout << row.dump() << std::endl;
        report.write_json();
      }
    }
    report.note("prefill builds the full decode state (KV cache + Hyena states); chunked by prefill_chunk");
    report.note("vs_gemm_peak: prefill FLOPs (linear layers + causal attention) per second over the bf16 GEMM rate");
    report.note("decode_vs_copy_bw: (weights + cache) bytes per step over the measured copy bandwidth");
    report.note("followup_ttft_s: resume the document's state from host memory + prefill a 64-token question + first token");
    report.print_table(std::cout);
    std::cout << "results: " << report.write_json().string() << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "bench_gpu_engine: error: " << e.what() << "\n";
    return 1;
  }
}
