// bench_embed: sentence-embedding throughput (all-MiniLM-L6-v2) on the CPU and, where there is
// one, the GPU: chunk-sized synthetic passages (about 180 words, the 256-token window filled),
// embedded in batches as ingest does (embed(): WordPiece on all CPU cores, then the encoder);
// encoding alone (embed_ids) is timed too.
//   --texts 512  --batch 32   --model DIR (else $HD_EMBEDDER_DIR): the sentence-transformers folder
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <random>
#include <stdexcept>

#include "bench_args.h"
#include "bench_report.h"
#include "hd/engine/cpu_threads.h"
#include "hd/engine/text_embedder.h"
#include "hd/kernels/device.h"

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::string passage(std::mt19937& g) {
  static const char* words[] = {"the", "report", "measured", "prefill", "latency", "of", "documents", "and",
                                "revenue", "grew", "by", "percent", "in", "quarter", "contract", "clause",
                                "patient", "dose", "results", "table", "figure", "summary", "kernel", "memory"};
  std::string s;
  for (int i = 0; i < 180; ++i) s += std::string(i ? " " : "") + words[g() % 24] + (g() % 9 == 0 ? "," : "");
  return s + ".";
}

}  // namespace

int main(int argc, char** argv) {
  hd::use_passive_openmp_wait(argv);
  try {
    const int n = hd::bench::arg_int(argc, argv, "--texts", 512);
    const int batch = hd::bench::arg_int(argc, argv, "--batch", 32);
    const std::filesystem::path dir =
        hd::bench::arg_text(argc, argv, "--model", std::getenv("HD_EMBEDDER_DIR") ? std::getenv("HD_EMBEDDER_DIR") : "");
    if (dir.empty()) throw std::runtime_error("name the model folder: --model DIR or HD_EMBEDDER_DIR");
    std::mt19937 g(3);
    std::vector<std::string> texts;
    std::size_t bytes = 0;
    for (int i = 0; i < n; ++i) {
      texts.push_back(passage(g));
      bytes += texts.back().size();
    }
    hd::bench::BenchReport report("embed");
    report.set("texts", n);
    report.set("batch", batch);
    report.set("text_bytes", static_cast<long long>(bytes));
    std::vector<hd::EmbedderDevice> devices{hd::EmbedderDevice::cpu};
    if (hd::query_device(0).available) devices.push_back(hd::EmbedderDevice::cuda);
    for (const auto device : devices) {
      const auto e = hd::TextEmbedder::open(dir, device);
      report.set("model", e->model_id());
      e->embed({texts[0]});  // warm-up (first GPU launches, thread pools)
      std::size_t tokens = 0;
      std::vector<std::vector<std::int32_t>> ids;
      for (const auto& s : texts) {
        ids.push_back(e->tokenizer().encode(s, e->max_tokens()));
        tokens += ids.back().size();
      }
      // As ingest calls it: embed() on batches of texts (tokenizing on all cores, then encoding).
      auto t = Clock::now();
      for (int i = 0; i < n; i += batch) {
        e->embed(std::vector<std::string>(texts.begin() + i, texts.begin() + std::min(n, i + batch)));
      }
      const double total = since(t);
      // Encoding alone, from ids.
      t = Clock::now();
      for (int i = 0; i < n; i += batch) {
        e->embed_ids(std::vector<std::vector<std::int32_t>>(ids.begin() + i, ids.begin() + std::min(n, i + batch)));
      }
      const double encode_s = since(t);
      report.add_row({{"device", e->device_name()}, {"tokens", static_cast<long long>(tokens)}, {"embed_s", total},
                      {"encode_only_s", encode_s}, {"texts_per_s", n / total},
                      {"tokens_per_s", static_cast<double>(tokens) / total},
                      {"MB_per_s", static_cast<double>(bytes) / (1 << 20) / total}});
    }
    report.note("texts_per_s, tokens_per_s and MB_per_s: embed() on batches, tokenizing and encoding together");
    report.print_table(std::cout);
    std::cout << "results: " << report.write_json().string() << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "bench_embed: error: " << e.what() << "\n";
    return 1;
  }
}
