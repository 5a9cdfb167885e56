#include "hd/app/ask.h"

#include <chrono>
#include <stdexcept>

#include "answer_prompt.h"

namespace hd {
namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

TokenCounter counter_for(const AnswerResources& r) {
  if (r.model) {
    // Counts whole rendered documents: the same tokens the prompt will hold, remembered for it.
    const LanguageModel* m = r.model;
    return [m](std::string_view s) { return m->encode_document(std::string(s)).size(); };
  }
  return [](std::string_view s) { return (s.size() + 3) / 4; };  // extractive: an estimate is enough
}

std::size_t document_budget(const AnswerResources& r, std::size_t requested, int answer_tokens) {
  if (requested) return requested;
  if (!r.model) return 1u << 30;
  const auto context = static_cast<std::size_t>(r.model->context_tokens());
  const std::size_t reserve = static_cast<std::size_t>(answer_tokens) + 512;  // instructions, question, answer
  return context > reserve ? context - reserve : context / 2;
}

std::string tail_of(const std::string& question, bool quote_first = true) {
  if (!quote_first) return "Question: " + question;
  return "Question: " + question +
         "\n\nFirst quote the sentence from the sources that answers it (with its number, like [1]), then answer.";
}

const char* instructions_for(const AskOptions& o) {
  return o.quote_first ? answer::kAnswerInstructions : answer::kDirectAnswerInstructions;
}

// Runs generation after the documents; fills the timing and token fields of `out`.
void generate_answer(const AnswerResources& r, Session& session, const std::vector<int>& rest, const AskOptions& o,
                     Clock::time_point t0, AskResult& out) {
  GenerateOptions g;
  g.max_new_tokens = o.answer_tokens;
  g.sampling.temperature = o.temperature;
  g.sampling.seed = o.seed;
  g.cancel = o.cancel;
  Clock::time_point first{};
  bool started = false;
  g.on_text = [&](const std::string& piece) {
    if (!started) first = Clock::now(), started = true;
    if (o.on_text) o.on_text(piece);
  };
  const auto before = Clock::now();
  GenerateResult result = generate(session, *r.model->tokenizer, rest, g);
  const auto end = Clock::now();
  out.answer = result.text;
  out.answer_tokens = result.tokens.size();
  out.stop = result.reason;
  out.seconds_to_first_token = std::chrono::duration<double>((started ? first : end) - t0).count();
  const double decode_s = std::chrono::duration<double>(end - (started ? first : before)).count();
  out.decode_tokens_per_second = result.tokens.size() > 1 && decode_s > 0 ? static_cast<double>(result.tokens.size() - 1) / decode_s : 0;
}

AskResult extractive_answer(const AnswerResources& r, const std::string& question, const AskOptions& o) {
  AskResult out;
  out.extractive = true;
  PackOptions pack;
  pack.document_ids = o.document_ids;
  pack.budget_tokens = 4096;  // the passages search finds, not whole documents
  out.context = pack_context(*r.store, r.index, r.embedder, counter_for(r), question, pack);
  out.notices.push_back("no language model is installed (scripts/setup installs one): extractive answer, the "
                        "sentences of your documents closest to the question");
  for (const auto& s : answer::rank_sentences(out.context, r.embedder, question, 3)) {
    out.answer += "\"" + s.sentence + "\" [" + std::to_string(s.source) + "]\n";
    out.citations.push_back({s.source, 0, s.cosine, s.sentence, false});
  }
  if (o.on_text) o.on_text(out.answer);
  return out;
}

}  // namespace

AskResult ask(const AnswerResources& r, const std::string& question, const AskOptions& o) {
  const auto t0 = Clock::now();
  if (question.find_first_not_of(" \t\r\n") == std::string::npos) throw std::runtime_error("the question is empty");
  answer::refuse_random_weights(r);
  if (!r.model) {
    AskResult out = extractive_answer(r, question, o);
    out.seconds = since(t0);
    return out;
  }
  const LanguageModel& m = *r.model;
  AskResult out;
  out.model = m.name;
  if (!m.notice.empty()) out.notices.push_back(m.notice);
  const std::size_t question_tokens = m.tokenizer->encode(tail_of(question, o.quote_first), false).size();
  if (question_tokens + static_cast<std::size_t>(o.answer_tokens) + 64 > static_cast<std::size_t>(m.context_tokens())) {
    throw std::runtime_error("the question is " + std::to_string(question_tokens) + " tokens long: with the answer it does not "
                             "fit the model's context of " + std::to_string(m.context_tokens()) + " tokens");
  }
  PackOptions pack;
  pack.document_ids = o.document_ids;
  pack.budget_tokens = document_budget(r, o.context_budget, o.answer_tokens);
  if (pack.budget_tokens > question_tokens) pack.budget_tokens -= question_tokens;
  out.context = pack_context(*r.store, r.index, r.embedder, counter_for(r), question, pack);
  if (!out.context.notice.empty()) out.notices.push_back(out.context.notice);

  std::vector<const PackedDocument*> docs;
  for (const auto& d : out.context.documents) docs.push_back(&d);
  const answer::Prompt prompt = answer::build(m, instructions_for(o), docs, tail_of(question, o.quote_first));
  out.packing_seconds = since(t0);
  out.prompt_tokens = prompt.tokens.size();
  const auto before_documents = Clock::now();
  const PrefillCache::Hold hold(r.cache);  // the cache's background work waits for the answer
  Session session(*m.backend, m.checkpoint->fingerprint(),
                  {.max_positions = static_cast<std::int64_t>(prompt.tokens.size()) + o.answer_tokens + 8});
  const answer::Prefill pre = answer::prefill_documents(session, r.cache, prompt);
  out.documents_seconds = since(before_documents);
  out.cached_tokens = pre.cached;
  out.cache_tier = pre.tier;
  out.cache_store_seconds = pre.store_seconds;
  out.new_tokens = prompt.tokens.size() - pre.cached;
  const std::vector<int> rest(prompt.tokens.begin() + static_cast<std::ptrdiff_t>(prompt.documents_end), prompt.tokens.end());
  generate_answer(r, session, rest, o, t0, out);
  out.citations = attribute(out.answer, out.context, r.embedder);
  out.seconds = since(t0);
  return out;
}

Conversation::Conversation(const AnswerResources& r, std::vector<long long> document_ids)
    : r_(r), document_ids_(std::move(document_ids)) {
  answer::refuse_random_weights(r_);
  if (!r_.model) throw std::runtime_error("chat needs a language model (scripts/setup installs one); ask works without one");
}

Conversation::~Conversation() = default;

std::size_t Conversation::position() const { return session_ ? static_cast<std::size_t>(session_->position()) : 0; }

void Conversation::reset() {
  session_.reset();
  context_ = {};
  turns_ = 0;
}

AskResult Conversation::turn(const std::string& message, const AskOptions& o) {
  const auto t0 = Clock::now();
  const LanguageModel& m = *r_.model;
  AskResult out;
  out.model = m.name;
  if (!session_) {
    // The first turn reads the documents (from the cache when they were read before).
    PackOptions pack;
    pack.document_ids = document_ids_;
    pack.budget_tokens = document_budget(r_, o.context_budget, o.answer_tokens) / 2;  // room for the conversation
    context_ = pack_context(*r_.store, r_.index, r_.embedder, counter_for(r_), message, pack);
    if (!context_.notice.empty()) out.notices.push_back(context_.notice);
    std::vector<const PackedDocument*> docs;
    for (const auto& d : context_.documents) docs.push_back(&d);
    const answer::Prompt prompt = answer::build(m, instructions_for(o), docs, tail_of(message, o.quote_first));
    session_ = std::make_unique<Session>(*m.backend, m.checkpoint->fingerprint());
    const PrefillCache::Hold hold(r_.cache);
    const answer::Prefill pre = answer::prefill_documents(*session_, r_.cache, prompt);
    out.prompt_tokens = prompt.tokens.size();
    out.cached_tokens = pre.cached;
    out.cache_tier = pre.tier;
    out.cache_store_seconds = pre.store_seconds;
    out.new_tokens = prompt.tokens.size() - pre.cached;
    const std::vector<int> rest(prompt.tokens.begin() + static_cast<std::ptrdiff_t>(prompt.documents_end), prompt.tokens.end());
    generate_answer(r_, *session_, rest, o, t0, out);
  } else {
    // Later turns: the conversation so far is in the state; only this turn's tokens are read.
    std::vector<int> next;
    if (const int end = m.chat.end_of_turn_id(*m.tokenizer); end >= 0) next.push_back(end);  // close the last reply
    const std::vector<int> turn = m.chat.render_next_turn(*m.tokenizer, message);
    next.insert(next.end(), turn.begin(), turn.end());
    if (session_->position() + static_cast<std::int64_t>(next.size()) + o.answer_tokens > session_->max_positions()) {
      throw std::runtime_error("the conversation has filled the model's context (" + std::to_string(session_->max_positions()) +
                               " tokens): /reset starts a new one");
    }
    out.prompt_tokens = static_cast<std::size_t>(session_->position()) + next.size();
    out.cached_tokens = static_cast<std::size_t>(session_->position());
    out.new_tokens = next.size();
    out.cache_tier = CacheTier::memory;
    generate_answer(r_, *session_, next, o, t0, out);
  }
  out.context = context_;
  out.citations = attribute(out.answer, context_, r_.embedder);
  ++turns_;
  out.seconds = since(t0);
  return out;
}

}  // namespace hd
