// bench_cpu_engine: CPU backend prefill and decode speed on a random-weight model.
//   --preset 100m (default) | any preset; --prompt 2048; --decode 32; --threads 0 (all)
//   --model DIR   a model folder instead of a random preset (a real or grafted model)
//   --long-conv fft,recurrence   the Hyena long convolution methods to time, one prefill each (a
//                 32k-token prefill of a 1.5B model takes over half an hour on two cores: name one)
// Peers measured in the same run: OpenBLAS sgemm (the matrix rate the prefill can reach)
// and memcpy bandwidth (what bounds decode, which reads every weight once per token).
#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <random>
#include <thread>

#include "bench_args.h"
#include "bench_report.h"
#include "hd/engine/backend.h"
#include "hd/engine/checkpoint.h"
#include "hd/engine/cpu_threads.h"
#include "hd/engine/model_presets.h"
#include "hd/engine/random_checkpoint.h"
#include "hd/engine/session.h"

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

double sgemm_gflops(int n) {
  std::vector<float> a(static_cast<size_t>(n) * n, 0.5f), b(a.size(), 0.25f), c(a.size());
  std::mt19937 g(1);
  std::uniform_real_distribution<float> u(-1, 1);
  for (auto& v : a) v = u(g);
  for (auto& v : b) v = u(g);
  double best = 1e30;
  for (int r = 0; r < 4; ++r) {
    auto t = Clock::now();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, n, 1, a.data(), n, b.data(), n, 0, c.data(), n);
    if (r) best = std::min(best, since(t));
  }
  return 2.0 * n * n * n / best / 1e9;
}

double memcpy_gbps(std::size_t bytes) {
  std::vector<char> src(bytes, 1), dst(bytes);
  double best = 1e30;
  for (int r = 0; r < 5; ++r) {
    auto t = Clock::now();
    std::memcpy(dst.data(), src.data(), bytes);
    if (r) best = std::min(best, since(t));
  }
  return 2.0 * bytes / best / 1e9;
}

}  // namespace

int main(int argc, char** argv) {
  hd::use_passive_openmp_wait(argv);  // see cpu_threads.h: OpenMP and OpenBLAS share the cores
  try {
    const std::string preset = hd::bench::arg_text(argc, argv, "--preset", "100m");
    const int prompt_len = hd::bench::arg_int(argc, argv, "--prompt", 2048);
    const int decode_steps = hd::bench::arg_int(argc, argv, "--decode", 32);
    const int threads = hd::bench::arg_int(argc, argv, "--threads", 0);
    const std::string model_dir = hd::bench::arg_text(argc, argv, "--model", "");
    const std::string methods = hd::bench::arg_text(argc, argv, "--long-conv", "fft,recurrence");

    const bool random = model_dir.empty();
    const auto dir = random ? std::filesystem::temp_directory_path() / ("hd-bench-" + preset) : std::filesystem::path(model_dir);
    auto t = Clock::now();
    if (random) hd::write_random_checkpoint(hd::preset_config(preset), dir, {.seed = 1, .dtype = hd::DType::bf16});
    const double write_s = since(t);
    t = Clock::now();
    auto ck = hd::Checkpoint::open(dir);
    const hd::ModelConfig& config = ck->config();
    auto backend = hd::make_cpu_backend(*ck, {.threads = threads});
    const double load_s = since(t);

    std::mt19937 g(2);
    std::uniform_int_distribution<int> tok(3, config.vocab_size - 1);
    std::vector<int> prompt(prompt_len);
    for (auto& x : prompt) x = tok(g);

    hd::bench::BenchReport report(random ? "cpu_engine" : "cpu_engine-" + dir.filename().string());
    report.set("model", (random ? preset : dir.filename().string()) + " (" + std::to_string(config.num_attention_blocks()) +
                            " attention, " + std::to_string(config.num_layers - config.num_attention_blocks()) + " Hyena blocks, " +
                            std::to_string(config.parameter_count()) + " parameters, bf16 on disk, float32 in memory)");
    report.set("prompt_tokens", prompt_len);
    report.set("decode_steps", decode_steps);
    report.set("threads", threads ? threads : static_cast<int>(std::thread::hardware_concurrency()));
    report.set("checkpoint_write_s", write_s);
    report.set("load_s", load_s);

    // Matrix work per prompt token: every linear layer once (2 FLOPs per weight), plus attention
    // (QK^T and PV over on average half the prompt), plus the unembedding for the last token.
    const double d = config.hidden_size, f = config.inner_mlp_size, kv = config.num_kv_heads * config.head_dim();
    double linear_per_token = 0;
    for (hd::BlockKind k : config.blocks) {
      linear_per_token += 2 * (3 * d * f) + (k == hd::BlockKind::attention ? 2 * ((d + 2 * kv) * d + d * d)
                                                                          : 2 * (3 * d * d + d * d));
    }
    const double attention_flops = config.num_attention_blocks() * 2.0 * 2.0 * d * prompt_len * prompt_len / 2.0;
    const double prefill_flops = linear_per_token * prompt_len + attention_flops + 2.0 * d * config.vocab_size;
    const double peak = sgemm_gflops(1024);
    const double bandwidth = memcpy_gbps(256u << 20);

    for (hd::LongConvMethod method : {hd::LongConvMethod::fft, hd::LongConvMethod::recurrence}) {
      if (methods.find(method == hd::LongConvMethod::fft ? "fft" : "recurrence") == std::string::npos) continue;
      hd::Session session(*backend, ck->fingerprint(), {.long_conv = method, .max_positions = prompt_len + decode_steps + 1});
      t = Clock::now();
      std::vector<float> logits = session.prefill(prompt);
      const double prefill_s = since(t);
      std::vector<double> steps;
      int next = static_cast<int>(std::max_element(logits.begin(), logits.end()) - logits.begin());
      for (int s = 0; s < decode_steps; ++s) {
        t = Clock::now();
        logits = session.decode(next);
        steps.push_back(since(t));
        next = static_cast<int>(std::max_element(logits.begin(), logits.end()) - logits.begin());
      }
      std::sort(steps.begin(), steps.end());
      const double step = steps[steps.size() / 2];
      const double weight_bytes = 4.0 * static_cast<double>(config.parameter_count());  // float32 in memory
      report.add_row({{"prefill_long_conv", method == hd::LongConvMethod::fft ? "fft" : "recurrence"},
                      {"prefill_s", prefill_s},
                      {"prefill_tok_per_s", prompt_len / prefill_s},
                      {"prefill_gflops", prefill_flops / prefill_s / 1e9},
                      {"vs_sgemm_peak", prefill_flops / prefill_s / 1e9 / peak},
                      {"decode_ms_per_tok", step * 1e3},
                      {"decode_tok_per_s", 1.0 / step},
                      {"decode_gb_per_s", weight_bytes / step / 1e9},
                      {"vs_memcpy_bw", weight_bytes / step / 1e9 / bandwidth},
                      // What a cached document costs at this length: the CPU keeps K and V in float32.
                      {"cache_mib", static_cast<double>(config.kv_cache_bytes(prompt_len, 4) + config.hyena_state_bytes()) / (1 << 20)}});
    }
    report.set("sgemm_1024_gflops", peak);
    report.set("memcpy_gb_per_s", bandwidth);
    report.note("decode: median of the steps after a prefill of prompt_tokens; one token at a time");
    report.note("vs_sgemm_peak: prefill FLOP rate over OpenBLAS sgemm 1024^3 measured in this run");
    report.note("vs_memcpy_bw: float32 weight bytes read per decode step over memcpy bandwidth measured in this run");
    report.print_table(std::cout);
    std::cout << "results: " << report.write_json().string() << "\n";
    if (random) std::filesystem::remove_all(dir);
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "bench_cpu_engine: error: " << e.what() << "\n";
    return 1;
  }
}
