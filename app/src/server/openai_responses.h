#pragma once
// Response bodies in the OpenAI API's shapes (chat.completion, chat.completion.chunk,
// text_completion, list of models, embeddings), with HyenaDesk's additions: usage says how many
// prompt tokens came from the prefill cache, and a grounded answer carries "sources".
#include <string>

#include <nlohmann/json.hpp>

#include "completion_runner.h"

namespace hd::server {

std::string new_id(const char* prefix);  // "chatcmpl-…", unique in this process
long long unix_now();

nlohmann::ordered_json usage_json(const RunOutput& r);
nlohmann::ordered_json chat_completion(const std::string& id, const std::string& model, const RunOutput& r);
// One streamed piece: {"delta": {"content": text}} (role on the first), or the last with finish_reason.
nlohmann::ordered_json chat_chunk(const std::string& id, const std::string& model, const std::string& text, bool first,
                                  const char* finish_reason);
nlohmann::ordered_json text_completion(const std::string& id, const std::string& model, const RunOutput& r);
nlohmann::ordered_json text_chunk(const std::string& id, const std::string& model, const std::string& text,
                                  const char* finish_reason);
// The float32 values' bytes (little-endian, as on every machine this runs on) in base64.
std::string base64_floats(const std::vector<float>& values);
// "data: {json}\n\n"
std::string sse(const nlohmann::ordered_json& j);

}  // namespace hd::server
