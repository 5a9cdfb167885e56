// bench_ingest_search: ingest throughput and search latency of the store (CPU).
//   --files 400       synthetic Markdown files for the ingest run (about 8 KB each)
//   --queries 200     searches per store size; stores of 10k and 100k chunks
// Search is full-text (FTS5 BM25) until the vector index lands; token counts are the
// 4-bytes-a-token estimate (no tokenizer), as `hyenadesk ingest` without --tokenizer.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>

#include "bench_report.h"
#include "hd/app/ingest_folder.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

int arg(int argc, char** argv, const std::string& flag, int fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (flag == argv[i]) return std::stoi(argv[i + 1]);
  }
  return fallback;
}

const std::vector<std::string> kWords = {
    "model", "state", "cache", "token", "prompt", "hyena", "attention", "filter", "document", "page", "chapter",
    "report", "revenue", "budget", "engine", "kernel", "memory", "search", "index", "answer", "question", "summary",
    "context", "length", "policy", "contract", "clause", "patient", "dose", "trial", "figure", "table", "result"};

std::string sentence(std::mt19937& g, int words) {
  std::uniform_int_distribution<std::size_t> pick(0, kWords.size() - 1);
  std::string s;
  for (int i = 0; i < words; ++i) s += (i ? " " : "") + kWords[pick(g)] + std::to_string(g() % 50);
  return s + ".";
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const int files = arg(argc, argv, "--files", 400), queries = arg(argc, argv, "--queries", 200);
    hd::bench::BenchReport report("ingest_search");
    report.set("files", files);
    report.set("queries_per_store", queries);
    const fs::path work = fs::temp_directory_path() / "hd-bench-ingest";
    fs::remove_all(work);
    fs::create_directories(work / "docs");
    std::mt19937 g(1);
    std::uint64_t bytes = 0;
    for (int f = 0; f < files; ++f) {
      std::ofstream out(work / "docs" / ("doc" + std::to_string(f) + ".md"));
      std::string text = "# Report " + std::to_string(f) + "\n\n";
      for (int sec = 0; sec < 4; ++sec) {
        text += "## Section " + std::to_string(sec) + "\n\n";
        for (int p = 0; p < 5; ++p) text += sentence(g, 60) + "\n\n";
      }
      out << text;
      bytes += text.size();
    }
    auto store = hd::Store::open(work / "store");
    hd::IngestOptions options;
    options.count_tokens = [](std::string_view s) { return (s.size() + 3) / 4; };
    auto t = Clock::now();
    const hd::IngestSummary s = hd::ingest_paths(*store, {work / "docs"}, options);
    const double ingest_s = since(t);
    report.add_row({{"measure", "ingest (read + chunk + store + FTS)"}, {"chunks", store->chunk_count()},
                    {"seconds", ingest_s}, {"MB_per_s", static_cast<double>(bytes) / (1 << 20) / ingest_s},
                    {"chunks_per_s", static_cast<double>(store->chunk_count()) / ingest_s},
                    {"p50_ms", nullptr}, {"p95_ms", nullptr}});
    if (s.failed) report.note(std::to_string(s.failed) + " files failed");

    for (long long target : {10'000LL, 100'000LL}) {
      auto big = hd::Store::open(work / ("store-" + std::to_string(target)));
      const int per_doc = 50;
      for (long long d = 0; d * per_doc < target; ++d) {
        std::vector<hd::NewChunk> chunks;
        for (int c = 0; c < per_doc; ++c) chunks.push_back({sentence(g, 50), "Section", 0, 0, 0, 300, 75});
        big->put_document("/synthetic/" + std::to_string(d), d, {"h" + std::to_string(d), "text", "doc", "indexed", "", 1},
                          chunks);
      }
      std::vector<double> ms;
      for (int q = 0; q < queries; ++q) {
        const std::string query = sentence(g, 4);
        t = Clock::now();
        auto hits = big->search_text(query, 10);
        ms.push_back(since(t) * 1e3);
        if (hits.empty()) report.note("a query found nothing: " + query);
      }
      std::sort(ms.begin(), ms.end());
      report.add_row({{"measure", "search top 10 (FTS5 BM25)"}, {"chunks", big->chunk_count()}, {"seconds", nullptr},
                      {"MB_per_s", nullptr}, {"chunks_per_s", nullptr}, {"p50_ms", ms[ms.size() / 2]},
                      {"p95_ms", ms[ms.size() * 95 / 100]}});
    }
    report.note("synthetic Markdown (4 sections of 5 paragraphs of 60 words) and 4-word queries; one thread");
    report.print_table(std::cout);
    std::cout << "results: " << report.write_json().string() << "\n";
    fs::remove_all(work);
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "bench_ingest_search: error: " << e.what() << "\n";
    return 1;
  }
}
