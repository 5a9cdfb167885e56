#include "answer_prompt.h"

#include <algorithm>
#include <chrono>
#include <stdexcept>

#include "hd/app/paths.h"

namespace hd::answer {

const char* const kAnswerInstructions =
    "You answer questions about the user's documents, using only the numbered sources given. First quote, word for "
    "word, the sentence from the sources that answers the question, with its source number like [2]. Then give the "
    "answer in one or two sentences that agree with that quote. If the sources do not answer the question, say so.";

const char* const kDirectAnswerInstructions =
    "You answer questions about the user's documents, using only the numbered sources given. Answer in one or two "
    "sentences and cite the source number like [2]. If the sources do not answer the question, say so.";

const char* const kSummaryInstructions =
    "You summarize documents faithfully. Use only the text given, keep the numbers and names exact, and cite the "
    "source numbers like [3] after each point.";

Prompt build(const LanguageModel& m, const std::string& instructions, const std::vector<const PackedDocument*>& documents,
             const std::string& tail) {
  Prompt p;
  p.tokens = m.chat.open_user_turn(*m.tokenizer, instructions);
  auto append = [&](const std::string& text) {
    const std::vector<int> ids = m.tokenizer->encode(text, false);
    p.tokens.insert(p.tokens.end(), ids.begin(), ids.end());
  };
  append("Sources:\n\n");
  for (const PackedDocument* d : documents) {
    const std::vector<int> ids = m.encode_document(d->rendered);
    p.tokens.insert(p.tokens.end(), ids.begin(), ids.end());
    p.document_ends.push_back(p.tokens.size());
    p.document_tags.push_back(document_cache_tag(d->path));
  }
  p.documents_end = p.tokens.size();
  append(tail);
  const std::vector<int> close = m.chat.close_user_turn(*m.tokenizer);
  p.tokens.insert(p.tokens.end(), close.begin(), close.end());
  return p;
}

Prefill prefill_documents(Session& session, PrefillCache* cache, const Prompt& prompt) {
  Prefill out;
  const std::span<const int> all(prompt.tokens);
  if (cache) {
    const CacheLookup hit = cache->restore_longest(session, all, prompt.document_ends);
    out.cached = hit.tokens;
    out.tier = hit.tier;
  } else {
    session.reset();
  }
  // Document by document from where the cache left off, checkpointing after each: a later question
  // that keeps the first documents and changes the rest starts from the last one they share.
  std::size_t at = out.cached;
  for (std::size_t i = 0; i < prompt.document_ends.size(); ++i) {
    const std::size_t end = prompt.document_ends[i];
    if (end <= at) continue;
    session.prefill(all.subspan(at, end - at));
    at = end;
    if (cache) {
      const auto t = std::chrono::steady_clock::now();
      cache->store(session, all.first(end),
                   std::vector<std::string>(prompt.document_tags.begin(), prompt.document_tags.begin() + static_cast<std::ptrdiff_t>(i) + 1));
      out.store_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
    }
  }
  if (at < prompt.documents_end) session.prefill(all.subspan(at, prompt.documents_end - at));  // no documents: the header
  return out;
}

std::vector<RankedSentence> rank_sentences(const PackedContext& context, const TextEmbedder* embedder,
                                           const std::string& query, std::size_t top) {
  std::vector<RankedSentence> all;
  for (const SourcePassage* p : context.all_sources()) {
    for (std::string& s : split_sentences(p->text)) all.push_back({p->number, std::move(s), 0});
  }
  if (all.empty()) return all;
  if (embedder) {
    std::vector<std::string> texts;
    for (const auto& s : all) texts.push_back(s.sentence);
    const std::vector<float> q = embedder->embed({query}), e = embedder->embed(texts);
    const auto d = static_cast<std::size_t>(embedder->dimension());
    for (std::size_t i = 0; i < all.size(); ++i) {
      float c = 0;
      for (std::size_t k = 0; k < d; ++k) c += q[k] * e[i * d + k];
      all[i].cosine = c;
    }
    std::stable_sort(all.begin(), all.end(), [](const RankedSentence& a, const RankedSentence& b) { return a.cosine > b.cosine; });
  }
  if (all.size() > top) all.resize(top);
  return all;
}

void refuse_random_weights(const AnswerResources& r) {
  if (r.model && r.model->random_weights && !r.allow_random_weights) {
    throw std::runtime_error(r.model->dir.string() + " has random weights (written by hyenadesk mkmodel): its output "
                             "is noise, not an answer. Install a model (scripts/setup) or pass --allow-random to see it anyway");
  }
}

}  // namespace hd::answer
