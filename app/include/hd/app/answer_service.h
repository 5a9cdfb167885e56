#pragma once
// Everything ask and summarize run on, opened once and kept: the store, the embedder and the
// vector index, the language model (or none: extractive answers, said so) and its prefill cache.
// The desktop app holds one on its engine thread; every call is made from that one thread.
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "hd/app/ask.h"
#include "hd/app/language_model.h"
#include "hd/engine/text_embedder.h"
#include "hd/retrieval/vector_index.h"

namespace hd {

struct AnswerServiceOptions {
  std::filesystem::path store_dir, models_dir;
  std::filesystem::path embedder_dir;  // empty: models_dir/all-minilm-l6-v2
  std::string model;                   // a name in models_dir or a folder; empty: the default model
  DevicePreference device = DevicePreference::automatic;
  EmbedderDevice embedder_device = EmbedderDevice::cpu;
  int cpu_threads = 0;
  std::uint64_t gpu_cache_mb = 2048, memory_cache_mb = 4096, disk_cache_mb = 32768;
  bool allow_random_weights = false;
};

// Where a cited passage sits in its document, for a viewer: the page range (PDF) and, for formats
// without pages, the document's text with the passage's character range in it.
struct PassageLocation {
  std::string path, format;
  int page_first = 0, page_last = 0;
  std::string text;                  // the document's stored text (non-PDF formats)
  std::size_t begin = 0, end = 0;    // the passage in `text`
};

// The prefill cache's tiers for `model` over the store in `store_dir` (the GPU tier only where the
// model runs on a GPU); the CLI and AnswerService share it.
PrefillCacheOptions prefill_cache_options(const LanguageModel& model, const std::filesystem::path& store_dir,
                                          std::uint64_t gpu_mb, std::uint64_t memory_mb, std::uint64_t disk_mb);

class AnswerService {
 public:
  // Throws with a clear message when the store cannot be opened or a named model is broken; with
  // no model installed it opens without one (ask and summarize answer extractively).
  explicit AnswerService(AnswerServiceOptions options);
  ~AnswerService();

  AskResult ask(const std::string& question, AskOptions options);
  SummaryResult summarize(long long document_id, SummarizeOptions options);
  PassageLocation locate(const SourcePassage& passage) const;

  // "qwen2.5-coder-1.5b-instruct on cuda-bf16", or why there is no model.
  std::string model_status() const;
  bool has_model() const { return model_ != nullptr; }
  std::optional<PrefillCacheStats> cache_stats() const;
  const Store& store() const { return *store_; }

  // What ask, summarize and the API server run on (the vector index brought up to date first).
  // From the thread that owns this service only.
  AnswerResources resources();

 private:

  AnswerServiceOptions options_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<TextEmbedder> embedder_;
  std::unique_ptr<VectorIndex> index_;
  long long index_version_ = -1;
  std::unique_ptr<LanguageModel> model_;
  std::unique_ptr<PrefillCache> cache_;
  std::string model_problem_;
};

}  // namespace hd
