#pragma once
// OpenAI API requests as the server accepts them, parsed and checked: a bad field is an ApiError
// naming it (400), in OpenAI's error shape, before anything reaches the engine.
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hd/engine/prompt_template.h"

namespace hd::server {

// An error answered as {"error": {"message", "type", "param", "code"}} with `status`.
struct ApiError : std::runtime_error {
  ApiError(int http_status, std::string error_type, std::string error_code, const std::string& message,
           std::string error_param = "")
      : std::runtime_error(message), status(http_status), type(std::move(error_type)), code(std::move(error_code)),
        param(std::move(error_param)) {}
  int status;
  std::string type, code, param;
};

nlohmann::json error_body(const ApiError& e);
ApiError bad_request(const std::string& message, const std::string& param = "");

struct Sampling {
  int max_tokens = 256;
  float temperature = 0;  // 0 (greedy, reproducible) unless asked: answers about documents, not stories
  float top_p = 1;
  std::uint64_t seed = 0;
  std::vector<std::string> stop;
};

struct ChatRequest {
  std::string model;
  std::vector<ChatMessage> messages;
  Sampling sampling;
  bool stream = false;
  bool include_usage_in_stream = false;  // stream_options.include_usage
  // Extension: ground the answer in the store. "documents": "all" or a list of document ids or
  // paths as GET /v1/documents lists them. The last user message is the question.
  bool grounded = false;
  std::vector<nlohmann::json> documents;  // empty with grounded: the whole store
};

struct CompletionRequest {
  std::string model;
  std::string prompt;
  Sampling sampling;
  bool stream = false;
  bool include_usage_in_stream = false;
};

struct EmbeddingRequest {
  std::string model;
  std::vector<std::string> inputs;
  bool base64 = false;  // encoding_format "base64": little-endian float32 bytes (the Python client asks for it)
};

// `max_tokens_limit`: the most a request may ask for.
ChatRequest parse_chat_request(const std::string& body, int max_tokens_limit);
CompletionRequest parse_completion_request(const std::string& body, int max_tokens_limit);
EmbeddingRequest parse_embedding_request(const std::string& body, std::size_t max_inputs);

}  // namespace hd::server
