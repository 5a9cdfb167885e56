#pragma once
// The generation loop: prefill, then sample and decode until a stop token, a stop string,
// the token limit, the context limit or cancellation; text streams out as it is made.
#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "hd/engine/sampler.h"
#include "hd/engine/session.h"
#include "hd/engine/tokenizer.h"

namespace hd {

struct GenerateOptions {
  int max_new_tokens = 256;
  SamplingOptions sampling;
  std::vector<int> stop_tokens;           // besides </s>, which always stops
  std::vector<std::string> stop_strings;  // the text stops before the first occurrence
  std::function<void(const std::string&)> on_text;  // streamed pieces of the answer
  const std::atomic<bool>* cancel = nullptr;        // set from another thread to stop early
};

enum class StopReason { eos, stop_token, stop_string, max_tokens, context_full, cancelled };
const char* to_string(StopReason r);

struct GenerateResult {
  std::string text;
  std::vector<int> tokens;
  StopReason reason = StopReason::max_tokens;
};

// Reads `prompt` into `session` (after whatever it already holds, e.g. a restored document)
// and generates the continuation.
GenerateResult generate(Session& session, const Tokenizer& tokenizer, const std::vector<int>& prompt,
                        const GenerateOptions& options);

}  // namespace hd
