#pragma once
// Ask, summarize and chat over the store: the use cases the CLI and the desktop app share.
//
// Prompt layout (ChatML or Nous, from the model folder): the instructions, then the documents as
// numbered sources, then the question last. The state after the documents is kept in the prefill
// cache, so a follow-up question on the same documents prefills only its own tokens; a chat
// continues its own state turn after turn. Every answer comes with the sources it used
// (attribution by sentence embeddings, not only the model's own [n] markers).
//
// Without a language model the use cases still work, extractively, and say so.
#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "hd/app/attribution.h"
#include "hd/app/context_packer.h"
#include "hd/app/language_model.h"
#include "hd/engine/generate.h"
#include "hd/engine/prefill_cache.h"

namespace hd {

// What the answer use cases read and run on. `model` and `cache` may be null (extractive mode);
// `index` and `embedder` may be null (full-text search, citations from markers only).
struct AnswerResources {
  LanguageModel* model = nullptr;
  PrefillCache* cache = nullptr;
  const Store* store = nullptr;
  const VectorIndex* index = nullptr;
  const TextEmbedder* embedder = nullptr;
  bool allow_random_weights = false;  // a random-weight model's noise is never shown as an answer otherwise
};

struct AskOptions {
  std::vector<long long> document_ids;  // empty: the whole store
  int answer_tokens = 256;
  std::size_t context_budget = 0;       // tokens for the documents; 0: the model's context minus the answer
  float temperature = 0;
  std::uint64_t seed = 0;
  // The prompt asks for the supporting quote first, then the answer (measured against asking for the
  // answer directly in bench_answer_quality --compare-prompts).
  bool quote_first = true;
  std::function<void(const std::string&)> on_text;  // the answer as it streams
  const std::atomic<bool>* cancel = nullptr;
};

struct AskResult {
  std::string answer;
  bool extractive = false;  // no language model: the passages and sentences that answer, as found
  std::vector<Citation> citations;
  PackedContext context;
  std::string model;
  std::size_t prompt_tokens = 0, cached_tokens = 0, new_tokens = 0, answer_tokens = 0;
  CacheTier cache_tier = CacheTier::none;
  double seconds_to_first_token = 0, decode_tokens_per_second = 0, seconds = 0;
  double cache_store_seconds = 0;  // of the time to first token, spent keeping the documents' state
  double packing_seconds = 0;      // of it, retrieval, packing and building the prompt
  double documents_seconds = 0;    // of it, restoring or reading the documents (prefill)
  StopReason stop = StopReason::eos;
  std::vector<std::string> notices;
};

// Throws std::runtime_error with a clear message: an empty store, no matching passage, a question
// longer than the context, a random-weight model without allow_random_weights.
AskResult ask(const AnswerResources& r, const std::string& question, const AskOptions& options);

enum class SummaryLength { brief, medium, detailed };

struct SummarizeOptions {
  SummaryLength length = SummaryLength::medium;
  std::size_t context_budget = 0;  // 0: the model's context minus room for notes and the answer
  std::function<void(const std::string&)> on_text;  // the final summary as it streams
  // Sections done, sections in all, seconds so far, estimated seconds left.
  std::function<void(int, int, double, double)> on_progress;
  const std::atomic<bool>* cancel = nullptr;
};

struct SummaryResult {
  std::string summary;
  bool extractive = false;
  bool partial = false;  // cancelled: what was done so far (notes of the sections read)
  int sections = 1, sections_done = 0;
  std::vector<Citation> citations;
  PackedContext context;
  double seconds = 0;
  std::vector<std::string> notices;
};

// One pass when the document fits; otherwise section by section with running notes carried
// forward and a final merge, each section's state cached.
SummaryResult summarize(const AnswerResources& r, long long document_id, const SummarizeOptions& options);

// A conversation over documents whose history lives in the engine state: each turn prefills only
// its own tokens.
class Conversation {
 public:
  Conversation(const AnswerResources& r, std::vector<long long> document_ids);
  ~Conversation();
  AskResult turn(const std::string& message, const AskOptions& options);
  void reset();
  const PackedContext& context() const { return context_; }
  std::size_t position() const;

 private:
  AnswerResources r_;
  std::vector<long long> document_ids_;
  PackedContext context_;
  std::unique_ptr<Session> session_;
  int turns_ = 0;
};

}  // namespace hd
