#pragma once
// Prompt building and cached prefill shared by ask, summarize and chat (app-private).
#include <string>
#include <vector>

#include "hd/app/ask.h"

namespace hd::answer {

// The instructions of the answer prompt. Small instruct models tend to answer a yes/no question
// against the passage while quoting it (packaged-models facts), so the prompt asks for the
// supporting quote first, then the answer. Measured against the direct variant (bench_answer_quality
// --compare-prompts at bf44324, Qwen2.5-Coder-1.5B): both answer 11 of 12 labelled questions with
// the fact and the right document and page; the direct prompt's miss is exactly that failure ("Are
// unchanged files read again?" -> "Yes, unchanged files are read again"), the quote-first prompt's
// is a question whose passage it quoted from the wrong document. Quote first stays the default.
extern const char* const kAnswerInstructions;
extern const char* const kDirectAnswerInstructions;
extern const char* const kSummaryInstructions;

struct Prompt {
  std::vector<int> tokens;
  std::size_t documents_end = 0;            // the state after this many tokens is the one to cache
  std::vector<std::size_t> document_ends;   // the prefix length after each document (checkpoints)
  std::vector<std::string> document_tags;   // each document's cache tag (document_cache_tag)
};

// instructions, then "Sources:" and each document's numbered passages, then `tail` (the question
// and its reminder), then the model's turn.
Prompt build(const LanguageModel& m, const std::string& instructions, const std::vector<const PackedDocument*>& documents,
             const std::string& tail);

struct Prefill {
  std::size_t cached = 0;
  CacheTier tier = CacheTier::none;
  double store_seconds = 0;  // spent keeping the documents' states (the disk write runs behind)
};

// Restores the longest cached prefix (at a document boundary), prefills the documents that were not
// cached, storing the state after each (tagged with the documents it holds, so ingest can purge a
// changed one); the rest (the question) is left for generate().
Prefill prefill_documents(Session& session, PrefillCache* cache, const Prompt& prompt);

// Sentences of the sources ranked by cosine with `query` (all-MiniLM-L6-v2), best first.
struct RankedSentence {
  int source = 0;
  std::string sentence;
  float cosine = 0;
};
std::vector<RankedSentence> rank_sentences(const PackedContext& context, const TextEmbedder* embedder,
                                           const std::string& query, std::size_t top);

void refuse_random_weights(const AnswerResources& r);

}  // namespace hd::answer
