// Proof for an imported instruct model: our engine (CPU, or CUDA in float32 or bf16) against the
// golden outputs of HF transformers on the same dequantized weights
// (scripts/fixtures/make_imported_model_golden.py), plus prefill and decode speed on that prompt.
//
//   bench_imported_model --model DIR --golden FILE [--backend cpu|cuda] [--dtype f32|bf16] [--threads N]
//
// Rows: relative L2 error of the logits at the golden positions (worst), after 64 greedy steps,
// how many of the 64 greedy tokens match (steps where transformers' own top two logits are within
// 1e-3 are counted as ties), prefill tokens/s and decode tokens/s.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>

#include "bench_args.h"
#include "bench_report.h"
#include "hd/engine/backend.h"
#include "hd/engine/checkpoint.h"
#include "hd/engine/safetensors.h"
#include "hd/engine/session.h"

namespace {

double rel_error(const float* got, const float* want, std::size_t n) {
  double num = 0, den = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (!std::isfinite(got[i])) return INFINITY;
    num += (static_cast<double>(got[i]) - want[i]) * (static_cast<double>(got[i]) - want[i]);
    den += static_cast<double>(want[i]) * want[i];
  }
  return std::sqrt(num / den);
}

int argmax(const std::vector<float>& v) { return static_cast<int>(std::max_element(v.begin(), v.end()) - v.begin()); }

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  using namespace hd;
  const std::string model_dir = bench::arg_text(argc, argv, "--model", "");
  const std::string golden_file = bench::arg_text(argc, argv, "--golden", "");
  const std::string backend_name = bench::arg_text(argc, argv, "--backend", "cpu");
  const std::string dtype = bench::arg_text(argc, argv, "--dtype", backend_name == "cpu" ? "f32" : "bf16");
  if (model_dir.empty() || golden_file.empty()) {
    std::cerr << "usage: bench_imported_model --model DIR --golden FILE [--backend cpu|cuda] [--dtype f32|bf16]\n";
    return 2;
  }
  auto checkpoint = Checkpoint::open(model_dir);
  auto golden = SafetensorsFile::open(golden_file);
  auto get = [&](const char* name) { return golden->tensors().at(name).to_floats(); };
  std::unique_ptr<Backend> backend;
  if (backend_name == "cuda") {
    backend = make_cuda_backend(*checkpoint, {.float32 = dtype == "f32"});
  } else {
    backend = make_cpu_backend(*checkpoint, {.threads = bench::arg_int(argc, argv, "--threads", 0)});
  }
  const std::size_t vocab = static_cast<std::size_t>(checkpoint->config().vocab_size);
  std::vector<int> prompt, positions, greedy;
  for (float f : get("prompt")) prompt.push_back(static_cast<int>(f));
  for (float f : get("positions")) positions.push_back(static_cast<int>(f));
  for (float f : get("greedy")) greedy.push_back(static_cast<int>(f));
  const std::vector<float> want = get("logits"), margin = get("greedy_margin"), want_last = get("greedy_logits_last");

  Session warm(*backend, checkpoint->fingerprint());
  warm.prefill(prompt);  // first-touch costs (page faults, cuBLAS handles) out of the timing

  Session session(*backend, checkpoint->fingerprint());
  auto t0 = std::chrono::steady_clock::now();
  const std::vector<float> all = session.prefill(prompt, /*all_logits=*/true);
  const double prefill_s = seconds_since(t0);
  double worst = 0;
  for (std::size_t k = 0; k < positions.size(); ++k) {
    worst = std::max(worst, rel_error(all.data() + static_cast<std::size_t>(positions[k]) * vocab, want.data() + k * vocab, vocab));
  }
  std::vector<float> logits(all.end() - static_cast<std::ptrdiff_t>(vocab), all.end());
  int same = 0, ties = 0, differ_clear = 0;
  t0 = std::chrono::steady_clock::now();
  for (std::size_t step = 0; step < greedy.size(); ++step) {
    const int ours = argmax(logits);
    same += ours == greedy[step];
    ties += margin[step] < 1e-3f;
    differ_clear += ours != greedy[step] && margin[step] >= 1e-3f;
    logits = session.decode(greedy[step]);  // teacher-forced on the golden path
  }
  const double decode_s = seconds_since(t0);
  const double last_error = rel_error(logits.data(), want_last.data(), vocab);

  bench::BenchReport report("imported_model-" + std::filesystem::path(model_dir).filename().string());
  report.set("model", golden->metadata().count("model") ? golden->metadata().at("model") : model_dir);
  report.set("golden", golden_file);
  // Goldens of imported transformers come from HF transformers; goldens of grafted hybrids from our
  // PyTorch StripedHyena (scripts/graft/golden.py), which names itself as the producer.
  const auto& meta = golden->metadata();
  const std::string maker = meta.count("transformers") ? "transformers " + meta.at("transformers")
                                                       : (meta.count("producer") ? meta.at("producer") : std::string("unknown"));
  report.set("golden_made_by", maker + ", torch " + (meta.count("torch") ? meta.at("torch") : std::string("?")) + ", " +
                                   (meta.count("dtype") ? meta.at("dtype") : std::string("?")));
  report.set("prompt_tokens", prompt.size());
  report.add_row({{"backend", backend->name()},
                  {"dtype", dtype},
                  {"logits_rel_error_worst", worst},
                  {"after_64_steps_rel_error", last_error},
                  {"greedy_same", same},
                  {"greedy_ties", ties},
                  {"greedy_clear_differences", differ_clear},
                  {"prefill_tok_s", static_cast<double>(prompt.size()) / prefill_s},
                  {"decode_tok_s", static_cast<double>(greedy.size()) / decode_s}});
  report.note(dtype == "f32" ? "float32: the bar is 1e-4 relative and every clear greedy token identical"
                             : "bf16 weights and activations, float32 accumulation: the bar is 1e-2 relative");
  report.print_table(std::cout);
  std::cout << "results: " << report.write_json().string() << "\n";
  const double bar = dtype == "f32" ? 1e-4 : 1e-2;
  return worst < bar && last_error < bar && (dtype != "f32" || differ_clear == 0) ? 0 : 1;
}
