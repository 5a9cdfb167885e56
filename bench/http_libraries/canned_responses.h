// What each server in the HTTP library comparison sends: the same bytes whatever the library, so
// the benchmark sees only the library's own cost. Shapes taken from `hyenadesk serve`: a whole chat
// completion, and one server-sent event of a streamed answer.
#pragma once

#include <cstdlib>
#include <cstring>
#include <string>

namespace hd::http_bench {

inline const char* kCompletion =
    R"({"id":"chatcmpl-3f2a9c1e5b7d4e08a6c2","object":"chat.completion","created":1764763200,)"
    R"("model":"qwen2.5-coder-1.5b-instruct","choices":[{"index":0,"message":{"role":"assistant",)"
    R"("content":"\"The prompt can be up to 131072 tokens long.\" [2] The model reads prompts of up to )"
    R"(131,072 tokens, and its state after a document is kept so a follow-up question reads only the )"
    R"(new tokens."},"finish_reason":"stop"}],"usage":{"prompt_tokens":966,"completion_tokens":41,)"
    R"("total_tokens":1007,"prompt_tokens_details":{"cached_tokens":920}}})";

inline const char* kEvent =
    "data: {\"id\":\"chatcmpl-3f2a9c1e5b7d4e08a6c2\",\"object\":\"chat.completion.chunk\",\"created\":1764763200,"
    "\"model\":\"qwen2.5-coder-1.5b-instruct\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" tokens\"}}]}\n\n";

// The number of events asked for by `/stream?n=N` (default 100, at most 100,000).
inline int events_asked(const char* n) {
  const long v = n ? std::strtol(n, nullptr, 10) : 100;
  return v < 1 ? 1 : v > 100000 ? 100000 : static_cast<int>(v);
}

constexpr int kThreads = 32;  // workers each server gets: `hyenadesk serve`'s pool (ApiServerOptions::http_threads)

}  // namespace hd::http_bench
