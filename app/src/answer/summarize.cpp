// Summaries: one pass when the document fits the context; otherwise section by section, carrying
// running notes forward (AnythingLLM's lesson: not a map-reduce of disconnected chunk summaries),
// then a final merge. Each section's state (instructions + that section) is cached, so summarizing
// the same document again, or at another length, reads no section twice.
#include <chrono>
#include <stdexcept>

#include "answer_prompt.h"
#include "hd/app/ask.h"

namespace hd {
namespace {

using Clock = std::chrono::steady_clock;

int words_for(SummaryLength l) { return l == SummaryLength::brief ? 80 : l == SummaryLength::medium ? 180 : 400; }
int tokens_for(SummaryLength l) { return words_for(l) * 2 + 64; }

std::string run(const AnswerResources& r, const answer::Prompt& prompt, int max_tokens, const SummarizeOptions& o,
                bool stream, StopReason& stop) {
  const LanguageModel& m = *r.model;
  const PrefillCache::Hold hold(r.cache);  // the cache's background work waits for this section
  Session session(*m.backend, m.checkpoint->fingerprint(),
                  {.max_positions = static_cast<std::int64_t>(prompt.tokens.size()) + max_tokens + 8});
  answer::prefill_documents(session, r.cache, prompt);
  GenerateOptions g;
  g.max_new_tokens = max_tokens;
  g.cancel = o.cancel;
  if (stream) g.on_text = o.on_text;
  const std::vector<int> rest(prompt.tokens.begin() + static_cast<std::ptrdiff_t>(prompt.documents_end), prompt.tokens.end());
  GenerateResult res = generate(session, *m.tokenizer, rest, g);
  stop = res.reason;
  return res.text;
}

// Sections of consecutive passages whose rendered text fits `budget` tokens.
std::vector<PackedDocument> sections_of(const PackedDocument& doc, std::size_t budget, const TokenCounter& count) {
  std::vector<PackedDocument> out;
  PackedDocument cur{doc.document_id, doc.title, doc.path, {}, {}};
  std::size_t used = 0;
  auto flush = [&] {
    if (cur.passages.empty()) return;
    cur.rendered = "## Document: " + doc.title + " (part " + std::to_string(out.size() + 1) + ")\n";
    for (const SourcePassage& p : cur.passages) {
      cur.rendered += "[" + std::to_string(p.number) + "]" +
                      (p.page_first ? " (p. " + std::to_string(p.page_first) + ")" : std::string()) + " " + p.text + "\n";
    }
    out.push_back(cur);
    cur.passages.clear();
    used = 0;
  };
  for (const SourcePassage& p : doc.passages) {
    const std::size_t n = count(p.text) + 12;
    if (used + n > budget && !cur.passages.empty()) flush();
    cur.passages.push_back(p);
    used += n;
  }
  flush();
  return out;
}

SummaryResult extractive_summary(const AnswerResources& r, const PackedContext& context, const SummarizeOptions& o) {
  SummaryResult out;
  out.extractive = true;
  out.context = context;
  out.notices.push_back("no language model is installed (scripts/setup installs one): extractive summary, the "
                        "sentences closest to the document's overall content");
  // Centroid of the document's sentence embeddings: the sentences nearest to it say most of what it says.
  std::string all;
  for (const SourcePassage* p : context.all_sources()) all += p->text + " ";
  const std::size_t want = o.length == SummaryLength::brief ? 3 : o.length == SummaryLength::medium ? 6 : 12;
  for (const auto& s : answer::rank_sentences(context, r.embedder, all.substr(0, 20000), want)) {
    out.summary += "- " + s.sentence + " [" + std::to_string(s.source) + "]\n";
    out.citations.push_back({s.source, 0, s.cosine, s.sentence, false});
  }
  if (o.on_text) o.on_text(out.summary);
  out.sections_done = 1;
  return out;
}

}  // namespace

SummaryResult summarize(const AnswerResources& r, long long document_id, const SummarizeOptions& o) {
  const auto t0 = Clock::now();
  answer::refuse_random_weights(r);
  const TokenCounter count = r.model ? TokenCounter([t = r.model->tokenizer.get()](std::string_view s) { return t->encode(s, false).size(); })
                                     : TokenCounter([](std::string_view s) { return (s.size() + 3) / 4; });
  PackOptions all;
  all.document_ids = {document_id};
  all.budget_tokens = static_cast<std::size_t>(-1);
  const PackedContext context = pack_context(*r.store, nullptr, nullptr, count, "", all);
  if (!r.model) return extractive_summary(r, context, o);

  const LanguageModel& m = *r.model;
  SummaryResult out;
  out.context = context;
  const int answer_tokens = tokens_for(o.length);
  const std::size_t ctx = static_cast<std::size_t>(m.context_tokens());
  const std::size_t budget = o.context_budget ? o.context_budget : ctx - std::min(ctx / 2, static_cast<std::size_t>(answer_tokens + 1024));
  const PackedDocument& doc = context.documents.front();
  const std::string ask_for = "Summarize the document above in about " + std::to_string(words_for(o.length)) +
                              " words, as short paragraphs or bullet points, citing the source numbers like [3].";
  StopReason stop = StopReason::eos;
  if (context.tokens <= budget) {
    out.sections = 1;
    if (o.on_progress) o.on_progress(0, 1, 0, 0);
    out.summary = run(r, answer::build(m, answer::kSummaryInstructions, {&doc}, ask_for), answer_tokens, o, true, stop);
    out.partial = stop == StopReason::cancelled;
    out.sections_done = out.partial ? 0 : 1;
  } else {
    // Sections sized so that a section, the notes so far and the new notes fit the context.
    const int notes_tokens = 400;
    const std::size_t section_budget = budget > static_cast<std::size_t>(3 * notes_tokens) ? budget - 3 * notes_tokens : budget / 2;
    const std::vector<PackedDocument> sections = sections_of(doc, section_budget, count);
    out.sections = static_cast<int>(sections.size());
    out.notices.push_back("the document (" + std::to_string(context.tokens) + " tokens) is longer than the context: read in " +
                          std::to_string(sections.size()) + " sections with running notes");
    std::string notes;
    for (std::size_t i = 0; i < sections.size(); ++i) {
      const double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
      if (o.on_progress) o.on_progress(static_cast<int>(i), out.sections, elapsed, i ? elapsed / static_cast<double>(i) * static_cast<double>(sections.size() - i) : 0);
      const std::string tail = "Notes on the earlier parts:\n" + (notes.empty() ? std::string("(none yet)") : notes) +
                               "\n\nRewrite the notes so they cover the earlier parts and this part: the key points, "
                               "numbers and decisions, each with its source number like [3]. At most 200 words.";
      const std::string next = run(r, answer::build(m, answer::kSummaryInstructions, {&sections[i]}, tail), notes_tokens, o, false, stop);
      if (stop == StopReason::cancelled) break;
      notes = next;
      out.sections_done = static_cast<int>(i) + 1;
    }
    if (stop == StopReason::cancelled || out.sections_done < out.sections) {
      out.partial = true;
      out.summary = notes;  // what is done so far, said to be partial by the caller
      if (o.on_text && !notes.empty()) o.on_text(notes);
    } else {
      PackedDocument merged{doc.document_id, doc.title, doc.path, {}, "## Notes on the whole document: " + doc.title + "\n" + notes + "\n"};
      out.summary = run(r, answer::build(m, answer::kSummaryInstructions, {&merged}, ask_for), answer_tokens, o, true, stop);
      out.partial = stop == StopReason::cancelled;
    }
  }
  out.citations = attribute(out.summary, out.context, r.embedder);
  out.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return out;
}

}  // namespace hd
