#include "hd/app/answer_service.h"

#include <algorithm>

#include "hd/app/model_registry.h"
#include "hd/app/paths.h"

namespace hd {
namespace fs = std::filesystem;

PrefillCacheOptions prefill_cache_options(const LanguageModel& model, const fs::path& store_dir, std::uint64_t gpu_mb,
                                          std::uint64_t memory_mb, std::uint64_t disk_mb) {
  PrefillCacheOptions cache;
  const bool on_gpu = model.backend->name().rfind("cuda", 0) == 0;
  cache.gpu_budget_bytes = on_gpu ? gpu_mb << 20 : 0;
  cache.memory_budget_bytes = memory_mb << 20;
  cache.disk_budget_bytes = disk_mb << 20;
  cache.disk_dir = prefill_cache_dir(store_dir);
  return cache;
}

AnswerService::AnswerService(AnswerServiceOptions options) : options_(std::move(options)) {
  store_ = Store::open(options_.store_dir);
  const fs::path embedder_dir = options_.embedder_dir.empty() ? options_.models_dir / "all-minilm-l6-v2" : options_.embedder_dir;
  if (fs::exists(embedder_dir / "model.safetensors")) embedder_ = TextEmbedder::open(embedder_dir, options_.embedder_device);
  std::optional<fs::path> dir;
  try {
    dir = resolve_model(options_.model.empty() ? std::nullopt : std::optional(options_.model), options_.models_dir);
  } catch (const ModelNotFound& e) {
    if (!options_.model.empty()) throw;  // asked for by name: that is an error
    model_problem_ = e.what();
  }
  if (dir) {
    model_ = load_language_model(*dir, options_.device, options_.cpu_threads);
    cache_ = std::make_unique<PrefillCache>(
        model_->checkpoint->fingerprint(),
        prefill_cache_options(*model_, store_->dir(), options_.gpu_cache_mb, options_.memory_cache_mb, options_.disk_cache_mb));
  }
}

AnswerService::~AnswerService() = default;

AnswerResources AnswerService::resources() {
  // Ingest runs on another thread and may have added vectors since: the index catches up.
  if (embedder_ && store_->vector_count() > 0 && store_->vectors_version() != index_version_) {
    index_ = VectorIndex::open(*store_, embedder_->model_id(), embedder_->dimension());
    index_version_ = store_->vectors_version();
  }
  return {model_.get(), cache_.get(), store_.get(), index_.get(), embedder_.get(), options_.allow_random_weights};
}

AskResult AnswerService::ask(const std::string& question, AskOptions options) {
  if (store_->document_count() == 0) throw std::runtime_error("the library is empty: add documents first");
  return hd::ask(resources(), question, options);
}

SummaryResult AnswerService::summarize(long long document_id, SummarizeOptions options) {
  return hd::summarize(resources(), document_id, options);
}

PassageLocation AnswerService::locate(const SourcePassage& passage) const {
  PassageLocation at;
  at.path = passage.path;
  at.page_first = passage.page_first;
  at.page_last = passage.page_last;
  if (const auto d = store_->document(passage.document_id)) at.format = d->format;
  if (at.format == "pdf") return at;
  // The document's text rebuilt from its chunks at their offsets (chunks of a section overlap).
  const std::vector<StoredChunk> chunks = store_->document_chunks(passage.document_id);
  for (const StoredChunk& c : chunks) {
    const auto end = static_cast<std::size_t>(std::max(c.char_end, c.char_begin));
    if (at.text.size() < end) at.text.resize(end, ' ');
    at.text.replace(static_cast<std::size_t>(c.char_begin), std::min(c.text.size(), end - static_cast<std::size_t>(c.char_begin)),
                    c.text.substr(0, end - static_cast<std::size_t>(c.char_begin)));
  }
  at.begin = at.text.size();
  for (const StoredChunk& c : chunks) {
    if (std::find(passage.chunk_ids.begin(), passage.chunk_ids.end(), c.id) == passage.chunk_ids.end()) continue;
    at.begin = std::min(at.begin, static_cast<std::size_t>(c.char_begin));
    at.end = std::max(at.end, static_cast<std::size_t>(c.char_end));
  }
  if (at.begin > at.end) at.begin = at.end = 0;
  return at;
}

std::string AnswerService::model_status() const {
  if (!model_) return "no language model installed: answers are extractive (" + model_problem_ + ")";
  return model_->name + " on " + model_->backend->name() + (model_->notice.empty() ? "" : " (" + model_->notice + ")");
}

std::optional<PrefillCacheStats> AnswerService::cache_stats() const {
  if (!cache_) return std::nullopt;
  return cache_->stats();
}

}  // namespace hd
