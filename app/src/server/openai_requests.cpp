#include "openai_requests.h"

namespace hd::server {
namespace {

using nlohmann::json;

json parse_body(const std::string& body) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded()) throw bad_request("the request body is not valid JSON");
  if (!j.is_object()) throw bad_request("the request body must be a JSON object");
  return j;
}

std::string model_of(const json& j) {
  if (!j.contains("model")) return "";
  if (!j["model"].is_string()) throw bad_request("model must be a string", "model");
  return j["model"].get<std::string>();
}

double number_in(const json& j, const char* key, double lo, double hi, double fallback) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  if (!j[key].is_number()) throw bad_request(std::string(key) + " must be a number", key);
  const double v = j[key].get<double>();
  if (!(v >= lo && v <= hi)) {
    throw bad_request(std::string(key) + " must be between " + json(lo).dump() + " and " + json(hi).dump(), key);
  }
  return v;
}

Sampling sampling_of(const json& j, int max_tokens_limit, int default_max_tokens) {
  Sampling s;
  const char* max_key = j.contains("max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
  s.max_tokens = static_cast<int>(number_in(j, max_key, 1, max_tokens_limit, default_max_tokens));
  if (j.contains(max_key) && j[max_key].is_number() && !j[max_key].is_number_integer()) {
    throw bad_request(std::string(max_key) + " must be an integer", max_key);
  }
  s.temperature = static_cast<float>(number_in(j, "temperature", 0, 2, 0));
  s.top_p = static_cast<float>(number_in(j, "top_p", 0, 1, 1));
  if (s.top_p <= 0) throw bad_request("top_p must be above 0", "top_p");
  if (j.contains("seed") && !j["seed"].is_null()) {
    if (!j["seed"].is_number_integer()) throw bad_request("seed must be an integer", "seed");
    s.seed = static_cast<std::uint64_t>(j["seed"].get<std::int64_t>());
  }
  if (j.contains("stop") && !j["stop"].is_null()) {
    const json& stop = j["stop"];
    if (stop.is_string()) {
      s.stop.push_back(stop.get<std::string>());
    } else if (stop.is_array() && stop.size() <= 4) {
      for (const json& x : stop) {
        if (!x.is_string()) throw bad_request("stop must be a string or up to 4 strings", "stop");
        s.stop.push_back(x.get<std::string>());
      }
    } else {
      throw bad_request("stop must be a string or up to 4 strings", "stop");
    }
    for (const std::string& x : s.stop) {
      if (x.empty()) throw bad_request("stop strings must not be empty", "stop");
    }
  }
  if (j.contains("n") && !(j["n"].is_number_integer() && j["n"].get<int>() == 1)) {
    throw bad_request("n: this server makes one choice per request", "n");
  }
  return s;
}

void stream_of(const json& j, bool& stream, bool& include_usage) {
  if (j.contains("stream") && !j["stream"].is_null()) {
    if (!j["stream"].is_boolean()) throw bad_request("stream must be true or false", "stream");
    stream = j["stream"].get<bool>();
  }
  if (j.contains("stream_options") && j["stream_options"].is_object()) {
    include_usage = j["stream_options"].value("include_usage", false);
  }
}

// A message's content: a string, or an array of parts of which only text is understood.
std::string content_of(const json& m, std::size_t index) {
  const std::string param = "messages[" + std::to_string(index) + "].content";
  if (!m.contains("content") || m["content"].is_null()) return "";
  const json& c = m["content"];
  if (c.is_string()) return c.get<std::string>();
  if (!c.is_array()) throw bad_request("content must be a string or an array of text parts", param);
  std::string text;
  for (const json& part : c) {
    if (!part.is_object() || part.value("type", "") != "text" || !part.contains("text") || !part["text"].is_string()) {
      throw bad_request("only text content parts are supported", param);
    }
    text += part["text"].get<std::string>();
  }
  return text;
}

}  // namespace

json error_body(const ApiError& e) {
  return {{"error", {{"message", e.what()}, {"type", e.type}, {"param", e.param.empty() ? json(nullptr) : json(e.param)},
                     {"code", e.code.empty() ? json(nullptr) : json(e.code)}}}};
}

ApiError bad_request(const std::string& message, const std::string& param) {
  return ApiError(400, "invalid_request_error", "", message, param);
}

ChatRequest parse_chat_request(const std::string& body, int max_tokens_limit) {
  const json j = parse_body(body);
  ChatRequest r;
  r.model = model_of(j);
  if (!j.contains("messages") || !j["messages"].is_array() || j["messages"].empty()) {
    throw bad_request("messages must be a non-empty array", "messages");
  }
  for (std::size_t i = 0; i < j["messages"].size(); ++i) {
    const json& m = j["messages"][i];
    if (!m.is_object() || !m.contains("role") || !m["role"].is_string()) {
      throw bad_request("each message needs a role", "messages[" + std::to_string(i) + "].role");
    }
    std::string role = m["role"].get<std::string>();
    if (role == "developer") role = "system";  // OpenAI's newer name for it
    if (role != "system" && role != "user" && role != "assistant") {
      throw bad_request("role must be system, user or assistant (tools are not supported)",
                        "messages[" + std::to_string(i) + "].role");
    }
    r.messages.push_back({role, content_of(m, i)});
  }
  if (r.messages.back().role != "user") throw bad_request("the last message must be the user's", "messages");
  r.sampling = sampling_of(j, max_tokens_limit, 256);
  stream_of(j, r.stream, r.include_usage_in_stream);
  if (j.contains("documents") && !j["documents"].is_null()) {
    const json& d = j["documents"];
    r.grounded = true;
    if (d.is_string() && d.get<std::string>() == "all") {
      // the whole store
    } else if (d.is_array() && !d.empty()) {
      for (const json& x : d) {
        if (!x.is_number_integer() && !x.is_string()) throw bad_request("documents: ids or paths", "documents");
        r.documents.push_back(x);
      }
    } else {
      throw bad_request("documents must be \"all\" or a non-empty list of document ids or paths", "documents");
    }
  }
  return r;
}

CompletionRequest parse_completion_request(const std::string& body, int max_tokens_limit) {
  const json j = parse_body(body);
  CompletionRequest r;
  r.model = model_of(j);
  if (!j.contains("prompt")) throw bad_request("prompt is required", "prompt");
  const json& p = j["prompt"];
  if (p.is_string()) {
    r.prompt = p.get<std::string>();
  } else if (p.is_array() && p.size() == 1 && p[0].is_string()) {
    r.prompt = p[0].get<std::string>();
  } else {
    throw bad_request("prompt must be one string (token arrays and batches are not supported)", "prompt");
  }
  if (r.prompt.empty()) throw bad_request("prompt must not be empty", "prompt");
  r.sampling = sampling_of(j, max_tokens_limit, 16);  // OpenAI's default for completions
  stream_of(j, r.stream, r.include_usage_in_stream);
  return r;
}

EmbeddingRequest parse_embedding_request(const std::string& body, std::size_t max_inputs) {
  const json j = parse_body(body);
  EmbeddingRequest r;
  r.model = model_of(j);
  if (!j.contains("input")) throw bad_request("input is required", "input");
  const json& in = j["input"];
  if (in.is_string()) {
    r.inputs.push_back(in.get<std::string>());
  } else if (in.is_array() && !in.empty() && in.size() <= max_inputs) {
    for (const json& x : in) {
      if (!x.is_string()) throw bad_request("input must be a string or a list of strings", "input");
      r.inputs.push_back(x.get<std::string>());
    }
  } else {
    throw bad_request("input must be a string or a list of 1 to " + std::to_string(max_inputs) + " strings", "input");
  }
  if (j.contains("encoding_format") && !j["encoding_format"].is_null()) {
    if (j["encoding_format"] == "base64") r.base64 = true;
    else if (j["encoding_format"] != "float") throw bad_request("encoding_format must be float or base64", "encoding_format");
  }
  return r;
}

}  // namespace hd::server
