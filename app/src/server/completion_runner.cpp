#include "completion_runner.h"

#include <algorithm>
#include <filesystem>

#include "hd/app/answer_json.h"
#include "hd/app/ask.h"
#include "hd/engine/generate.h"
#include "hd/engine/session.h"

namespace hd::server {
namespace {

namespace fs = std::filesystem;

const char* finish_reason(StopReason r) {
  return r == StopReason::max_tokens || r == StopReason::context_full ? "length" : "stop";
}

LanguageModel& model_of(const AnswerResources& r) {
  if (!r.model) {
    throw ApiError(503, "server_error", "model_not_available",
                   "no language model is installed (scripts/setup installs one); embeddings, documents and search "
                   "still work");
  }
  if (r.model->random_weights && !r.allow_random_weights) {
    throw ApiError(503, "server_error", "model_not_available",
                   r.model->dir.string() + " has random weights: its output is noise, not an answer");
  }
  return *r.model;
}

void check_fits(const LanguageModel& m, std::size_t prompt_tokens, int max_tokens) {
  const auto context = static_cast<std::size_t>(m.context_tokens());
  if (prompt_tokens + static_cast<std::size_t>(max_tokens) > context) {
    throw ApiError(400, "invalid_request_error", "context_length_exceeded",
                   "the prompt has " + std::to_string(prompt_tokens) + " tokens and max_tokens is " +
                       std::to_string(max_tokens) + ": more than the model's context of " + std::to_string(context),
                   "messages");
  }
}

GenerateOptions generate_options(const Sampling& s, const LanguageModel& m, const OnText& on_text,
                                 const std::atomic<bool>* cancel) {
  GenerateOptions g;
  g.max_new_tokens = s.max_tokens;
  g.sampling.temperature = s.temperature;
  g.sampling.top_p = s.top_p;
  g.sampling.seed = s.seed;
  g.stop_strings = s.stop;
  if (const int eot = m.chat.end_of_turn_id(*m.tokenizer); eot >= 0) g.stop_tokens.push_back(eot);
  g.on_text = on_text;
  g.cancel = cancel;
  return g;
}

// Where each message but the last ends in the rendered conversation: the states kept there let a
// conversation that grows by a turn start from its history. A format whose shorter renderings are
// not prefixes of the whole gives no boundaries (nothing cached, nothing wrong).
std::vector<std::size_t> message_boundaries(const LanguageModel& m, const std::vector<ChatMessage>& messages,
                                            const std::vector<int>& tokens) {
  std::vector<std::size_t> out;
  std::vector<ChatMessage> head;
  for (std::size_t i = 0; i + 1 < messages.size(); ++i) {
    head.push_back(messages[i]);
    const std::vector<int> part = m.chat.render(*m.tokenizer, head, false);
    if (part.size() < tokens.size() && std::equal(part.begin(), part.end(), tokens.begin())) out.push_back(part.size());
  }
  return out;
}

std::vector<long long> document_ids(const Store& store, const std::vector<nlohmann::json>& wanted) {
  std::vector<long long> ids;
  for (std::size_t i = 0; i < wanted.size(); ++i) {
    const nlohmann::json& w = wanted[i];
    std::optional<long long> id;
    if (w.is_number_integer()) {
      const long long asked = w.get<long long>();
      for (const auto& d : store.documents()) {
        if (d.id == asked) id = asked;
      }
    } else {
      id = store.document_by_path(fs::absolute(w.get<std::string>()).lexically_normal().string());
    }
    if (!id) {
      throw ApiError(404, "invalid_request_error", "document_not_found",
                     "documents[" + std::to_string(i) + "]: " + w.dump() + " is not in the store (GET /v1/documents lists it)",
                     "documents");
    }
    ids.push_back(*id);
  }
  return ids;
}

RunOutput run_grounded(AnswerService& service, const ChatRequest& request, const OnText& on_text,
                       const std::atomic<bool>* cancel) {
  const AnswerResources r = service.resources();
  if (r.store->document_count() == 0) {
    throw ApiError(400, "invalid_request_error", "empty_store", "the store holds no documents: POST /v1/documents first",
                   "documents");
  }
  AskOptions o;
  o.document_ids = document_ids(*r.store, request.documents);
  o.answer_tokens = request.sampling.max_tokens;
  o.temperature = request.sampling.temperature;
  o.seed = request.sampling.seed;
  o.on_text = on_text;
  o.cancel = cancel;
  AskResult a;
  try {
    a = ask(r, request.messages.back().content, o);
  } catch (const std::runtime_error& e) {  // no passage matches, question too long: the caller's to fix
    throw ApiError(400, "invalid_request_error", "", e.what(), "messages");
  }
  RunOutput out;
  out.grounded = true;
  out.text = a.answer;
  out.finish_reason = finish_reason(a.stop);
  out.prompt_tokens = a.prompt_tokens;
  out.cached_tokens = a.cached_tokens;
  out.completion_tokens = a.answer_tokens;
  out.sources = sources_json(a.citations, a.context);
  out.notices = a.notices;
  if (a.extractive && on_text) on_text(a.answer);  // nothing streamed while it was found
  return out;
}

}  // namespace

std::string check_model(AnswerService& service, const std::string& asked) {
  const LanguageModel& m = model_of(service.resources());
  if (!asked.empty() && asked != "default" && asked != m.name) {
    throw ApiError(404, "invalid_request_error", "model_not_found",
                   "model " + asked + " is not served here: this server runs " + m.name + " (GET /v1/models)", "model");
  }
  return m.name;
}

RunOutput run_chat(AnswerService& service, const ChatRequest& request, const OnText& on_text,
                   const std::atomic<bool>* cancel) {
  if (request.grounded) return run_grounded(service, request, on_text, cancel);
  const AnswerResources r = service.resources();
  LanguageModel& m = model_of(r);
  const std::vector<int> tokens = m.chat.render(*m.tokenizer, request.messages, true);
  check_fits(m, tokens.size(), request.sampling.max_tokens);
  Session session(*m.backend, m.checkpoint->fingerprint());
  const std::vector<std::size_t> boundaries = message_boundaries(m, request.messages, tokens);
  RunOutput out;
  std::size_t at = 0;
  if (r.cache && !boundaries.empty()) {
    at = r.cache->restore_longest(session, tokens, boundaries).tokens;
    out.cached_tokens = at;
    const std::size_t history = boundaries.back();
    if (history > at) {  // keep the history's state for the conversation's next request
      session.prefill(std::span<const int>(tokens).subspan(at, history - at));
      r.cache->store(session, std::span<const int>(tokens).first(history));
      at = history;
    }
  }
  const std::vector<int> rest(tokens.begin() + static_cast<std::ptrdiff_t>(at), tokens.end());
  const GenerateResult g = generate(session, *m.tokenizer, rest, generate_options(request.sampling, m, on_text, cancel));
  out.text = g.text;
  out.finish_reason = finish_reason(g.reason);
  out.prompt_tokens = tokens.size();
  out.completion_tokens = g.tokens.size();
  return out;
}

RunOutput run_completion(AnswerService& service, const CompletionRequest& request, const OnText& on_text,
                         const std::atomic<bool>* cancel) {
  const AnswerResources r = service.resources();
  LanguageModel& m = model_of(r);
  const std::vector<int> tokens = m.tokenizer->encode(request.prompt, true);
  check_fits(m, tokens.size(), request.sampling.max_tokens);
  Session session(*m.backend, m.checkpoint->fingerprint());
  GenerateOptions g = generate_options(request.sampling, m, on_text, cancel);
  g.stop_tokens.clear();  // raw text: only the model's end of text stops it
  const GenerateResult result = generate(session, *m.tokenizer, tokens, g);
  RunOutput out;
  out.text = result.text;
  out.finish_reason = finish_reason(result.reason);
  out.prompt_tokens = tokens.size();
  out.completion_tokens = result.tokens.size();
  return out;
}

Embeddings run_embeddings(AnswerService& service, const EmbeddingRequest& request) {
  const AnswerResources r = service.resources();
  if (!r.embedder) {
    throw ApiError(503, "server_error", "model_not_available", "no embedding model is installed (scripts/setup installs it)");
  }
  Embeddings out;
  out.model = r.embedder->model_id().substr(0, r.embedder->model_id().find('@'));  // "all-minilm-l6-v2@<hash>"
  const std::vector<float> flat = r.embedder->embed(request.inputs);
  const auto d = static_cast<std::size_t>(r.embedder->dimension());
  for (std::size_t i = 0; i < request.inputs.size(); ++i) {
    out.vectors.emplace_back(flat.begin() + static_cast<std::ptrdiff_t>(i * d), flat.begin() + static_cast<std::ptrdiff_t>((i + 1) * d));
    out.tokens += r.embedder->tokenizer().encode(request.inputs[i], r.embedder->max_tokens()).size();
  }
  return out;
}

}  // namespace hd::server
