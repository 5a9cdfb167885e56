#pragma once
// What the engine thread does for each kind of request: plain chat and text completions on the
// model (a chat's earlier messages kept in the prefill cache, so a conversation that grows by one
// turn reads only the new tokens), chat grounded in the store through hd::ask (the documents'
// states cached the same way), and embeddings. Runs on the EngineWorker's thread only.
#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "openai_requests.h"
#include "hd/app/answer_service.h"

namespace hd::server {

struct RunOutput {
  std::string text;
  std::string finish_reason = "stop";  // "stop" or "length"
  std::size_t prompt_tokens = 0, cached_tokens = 0, completion_tokens = 0;
  bool grounded = false;
  nlohmann::ordered_json sources = nlohmann::ordered_json::array();  // grounded only
  std::vector<std::string> notices;
};

using OnText = std::function<void(const std::string&)>;

// The loaded model's name, or an ApiError (503) when the service has none. `asked` (a request's
// "model") must name it, be empty, or be "default".
std::string check_model(AnswerService& service, const std::string& asked);

RunOutput run_chat(AnswerService& service, const ChatRequest& request, const OnText& on_text,
                   const std::atomic<bool>* cancel);
RunOutput run_completion(AnswerService& service, const CompletionRequest& request, const OnText& on_text,
                         const std::atomic<bool>* cancel);

struct Embeddings {
  std::vector<std::vector<float>> vectors;
  std::size_t tokens = 0;
  std::string model;
};
Embeddings run_embeddings(AnswerService& service, const EmbeddingRequest& request);

}  // namespace hd::server
