#include "openai_responses.h"

#include <openssl/evp.h>

#include <atomic>
#include <chrono>
#include <cstdio>

namespace hd::server {

using nlohmann::ordered_json;

std::string new_id(const char* prefix) {
  static std::atomic<unsigned long long> counter{0};
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s-%llx%06llx", prefix, static_cast<unsigned long long>(unix_now()), ++counter);
  return buf;
}

long long unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

ordered_json usage_json(const RunOutput& r) {
  return {{"prompt_tokens", r.prompt_tokens},
          {"completion_tokens", r.completion_tokens},
          {"total_tokens", r.prompt_tokens + r.completion_tokens},
          {"prompt_tokens_details", {{"cached_tokens", r.cached_tokens}}}};
}

ordered_json chat_completion(const std::string& id, const std::string& model, const RunOutput& r) {
  ordered_json j = {{"id", id},
                    {"object", "chat.completion"},
                    {"created", unix_now()},
                    {"model", model},
                    {"choices", ordered_json::array({{{"index", 0},
                                                      {"message", {{"role", "assistant"}, {"content", r.text}}},
                                                      {"finish_reason", r.finish_reason}}})},
                    {"usage", usage_json(r)}};
  if (r.grounded) j["sources"] = r.sources;
  if (!r.notices.empty()) j["notices"] = r.notices;
  return j;
}

ordered_json chat_chunk(const std::string& id, const std::string& model, const std::string& text, bool first,
                        const char* finish_reason) {
  ordered_json delta = ordered_json::object();
  if (first) delta["role"] = "assistant";
  if (!text.empty() || !finish_reason) delta["content"] = text;
  return {{"id", id},
          {"object", "chat.completion.chunk"},
          {"created", unix_now()},
          {"model", model},
          {"choices", ordered_json::array({{{"index", 0},
                                            {"delta", delta},
                                            {"finish_reason", finish_reason ? ordered_json(finish_reason) : ordered_json(nullptr)}}})}};
}

ordered_json text_completion(const std::string& id, const std::string& model, const RunOutput& r) {
  return {{"id", id},
          {"object", "text_completion"},
          {"created", unix_now()},
          {"model", model},
          {"choices", ordered_json::array({{{"index", 0}, {"text", r.text}, {"logprobs", nullptr}, {"finish_reason", r.finish_reason}}})},
          {"usage", usage_json(r)}};
}

ordered_json text_chunk(const std::string& id, const std::string& model, const std::string& text, const char* finish_reason) {
  return {{"id", id},
          {"object", "text_completion"},
          {"created", unix_now()},
          {"model", model},
          {"choices", ordered_json::array({{{"index", 0},
                                            {"text", text},
                                            {"logprobs", nullptr},
                                            {"finish_reason", finish_reason ? ordered_json(finish_reason) : ordered_json(nullptr)}}})}};
}

std::string base64_floats(const std::vector<float>& values) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(values.data());
  const int n = static_cast<int>(values.size() * sizeof(float));
  std::string out(static_cast<std::size_t>(4 * ((n + 2) / 3)) + 1, '\0');
  const int written = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), bytes, n);
  out.resize(static_cast<std::size_t>(written));
  return out;
}

std::string sse(const ordered_json& j) { return "data: " + j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n\n"; }

}  // namespace hd::server
