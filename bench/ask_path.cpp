// bench_ask_path: one long document through the whole `ask` path (ingest into a real store with
// embeddings and FAISS, retrieval and packing, prompt, engine with the three-tier prefill cache,
// decode, attribution), on the StripedHyena-7B shape with random bf16 weights (speed only: the
// answer text is noise and is never printed). Measured in one run:
//   - the first question (nothing cached): time to first token, and how much of it went to keeping
//     the document's state (copies to GPU and host memory);
//   - the background write of the state to the disk tier (bytes, seconds);
//   - follow-up questions with the document's state from the GPU tier, the host tier, the disk tier;
//   - the peer: the same question with no cache, i.e. re-reading the document every time.
//
//   bench_ask_path [--tokens 131072] [--model DIR] [--embedder DIR] [--answer-tokens 16]
//                  [--preset 7b] [--device cuda|cpu]
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "bench_args.h"
#include "bench_report.h"
#include "hd/app/ask.h"
#include "hd/app/ingest_folder.h"
#include "hd/app/paths.h"
#include "hd/engine/model_presets.h"
#include "hd/engine/random_checkpoint.h"
#include "hd/retrieval/vector_index.h"

namespace fs = std::filesystem;
using namespace hd;

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// A long maintenance log of numbered sections with facts of their own, until `tokens` tokens.
std::string long_report(const Tokenizer& tok, std::size_t tokens) {
  std::string text = "# Plant maintenance log\n\n";
  std::size_t counted = 0;
  for (int i = 1; counted < tokens; ++i) {
    std::string section = "## Section " + std::to_string(i) + "\n\nIn building " + std::to_string(i) +
                          ", the pump was serviced on day " + std::to_string((i * 37) % 300 + 1) + " and its pressure read " +
                          std::to_string(2 + (i * 7) % 9) + " bar afterwards. The crew noted that valve V" +
                          std::to_string(100 + i) + " had been replaced the year before, and that the next inspection is due in " +
                          std::to_string(3 + i % 9) + " months.\n\n";
    counted += tok.encode(section, false).size();
    text += section;
  }
  return text;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const auto tokens = static_cast<std::size_t>(bench::arg_int(argc, argv, "--tokens", 131072));
    const fs::path model_dir = bench::arg_text(argc, argv, "--model", "/tmp/hd-7b-ask");
    const char* env_embedder = std::getenv("HD_EMBEDDER_DIR");  // scripts/gpu-run sets it
    const fs::path embedder_dir = bench::arg_text(argc, argv, "--embedder",
                                                  env_embedder ? env_embedder : (default_models_dir() / "all-minilm-l6-v2").string());
    const int answer_tokens = bench::arg_int(argc, argv, "--answer-tokens", 16);
    const fs::path work = fs::temp_directory_path() / "hd-ask-path-bench";
    fs::remove_all(work);
    fs::create_directories(work / "docs");

    bench::BenchReport report("ask_path");
    const std::string preset = bench::arg_text(argc, argv, "--preset", "7b");  // "tiny" with --device cpu: a quick check
    const std::string device = bench::arg_text(argc, argv, "--device", "cuda");
    ModelConfig config = preset_config(preset);
    config.vocab_size = std::max(config.vocab_size, 32000);  // the StripedHyena tokenizer's
    config.max_seqlen = static_cast<std::int64_t>(tokens) + 32768;  // room for the sources' labels, the question, the answer
    if (!fs::exists(model_dir / "config.json")) {
      const auto t = Clock::now();
      write_random_checkpoint(config, model_dir, {.seed = 1, .dtype = DType::bf16});
      fs::copy_file(fs::path(HD_SOURCE_DIR) / "tests/engine/fixtures/stripedhyena-tokenizer/tokenizer.json",
                    model_dir / "tokenizer.json", fs::copy_options::overwrite_existing);
      report.set("checkpoint_write_s", since(t));
    }
    auto t = Clock::now();
    auto model = load_language_model(model_dir, device == "cpu" ? DevicePreference::cpu : DevicePreference::cuda);
    report.set("model", "StripedHyena " + preset + " shape, random bf16 weights, " + model->backend->name() + ", batch 1");
    report.set("model_load_s", since(t));

    std::ofstream(work / "docs" / "maintenance-log.md") << long_report(*model->tokenizer, tokens);
    auto embedder = TextEmbedder::open(embedder_dir, EmbedderDevice::automatic);
    auto store = Store::open(work / "store");
    IngestOptions ingest;
    const Tokenizer* tok = model->tokenizer.get();
    ingest.count_tokens = [tok](std::string_view s) { return tok->encode(s, false).size(); };
    ingest.embedder = embedder.get();
    t = Clock::now();
    const IngestSummary summary = ingest_paths(*store, {work / "docs"}, ingest);
    report.set("ingest_s", since(t));
    report.set("document_tokens", tokens);
    report.set("chunks", summary.by_format.begin()->second.chunks);
    auto index = VectorIndex::open(*store, embedder->model_id(), embedder->dimension());

    PrefillCache cache(model->checkpoint->fingerprint(), {.gpu_budget_bytes = 32ull << 30, .memory_budget_bytes = 32ull << 30,
                                                          .disk_dir = prefill_cache_dir(store->dir()),
                                                          .disk_budget_bytes = 64ull << 30});
    AnswerResources with_cache{model.get(), &cache, store.get(), index.get(), embedder.get(), true};
    AnswerResources no_cache = with_cache;
    no_cache.cache = nullptr;

    AskOptions o;
    o.answer_tokens = answer_tokens;
    auto run = [&](const char* what, const AnswerResources& r, const std::string& question) {
      const AskResult a = ask(r, question, o);
      report.add_row({{"question", what}, {"prompt_tokens", a.prompt_tokens}, {"cached_tokens", a.cached_tokens},
                      {"new_tokens", a.new_tokens}, {"state_from", to_string(a.cache_tier)},
                      {"first_token_s", a.seconds_to_first_token}, {"packing_s", a.packing_seconds},
                      {"documents_s", a.documents_seconds}, {"keeping_state_s", a.cache_store_seconds},
                      {"decode_tokens_per_s", a.decode_tokens_per_second}, {"whole_documents", a.context.whole_documents}});
      return a;
    };
    const AskResult first = run("first (nothing cached)", with_cache, "When was the pump in building 7 serviced?");
    t = Clock::now();
    cache.flush();
    const PrefillCacheStats st = cache.stats();
    report.set("disk_write_behind_s", since(t));
    report.set("state_bytes", st.memory_bytes);
    report.set("state_file_bytes", st.disk_bytes);
    const AskResult gpu = run("follow-up, GPU tier", with_cache, "What pressure did the pump in building 12 read?");
    cache.clear(CacheTier::gpu);
    const AskResult host = run("follow-up, host tier", with_cache, "Which valve was replaced in building 30?");
    cache.clear();
    const AskResult disk = run("follow-up, disk tier", with_cache, "When is the next inspection in building 5 due?");
    const AskResult peer = run("peer: re-read the document", no_cache, "What pressure did the pump in building 12 read?");

    report.note("Time to first token covers retrieval and packing (the whole document fits: " +
                std::string(first.context.whole_documents ? "yes" : "no") + "), prefill of what was not cached, keeping the "
                "state and the question's tokens.");
    report.note("Follow-up vs re-reading: GPU tier " + std::to_string(peer.seconds_to_first_token / gpu.seconds_to_first_token) +
                "x, host tier " + std::to_string(peer.seconds_to_first_token / host.seconds_to_first_token) + "x, disk tier " +
                std::to_string(peer.seconds_to_first_token / disk.seconds_to_first_token) + "x faster.");
    report.print_table(std::cout);
    std::cout << "results: " << report.write_json().string() << "\n";
    fs::remove_all(work);
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "bench_ask_path: " << e.what() << "\n";
    return 1;
  }
}
