#include "hd/engine/generate.h"

#include <algorithm>

namespace hd {

const char* to_string(StopReason r) {
  switch (r) {
    case StopReason::eos: return "end of text";
    case StopReason::stop_token: return "stop token";
    case StopReason::stop_string: return "stop string";
    case StopReason::max_tokens: return "token limit";
    case StopReason::context_full: return "context full";
    case StopReason::cancelled: return "cancelled";
  }
  return "?";
}

GenerateResult generate(Session& session, const Tokenizer& tokenizer, const std::vector<int>& prompt,
                        const GenerateOptions& options) {
  GenerateResult result;
  Sampler sampler(options.sampling);
  std::vector<int> history = prompt;
  std::vector<float> logits = session.prefill(prompt);
  StreamingDecoder stream(tokenizer);
  std::string pending;  // text held back while it could still become a stop string
  std::size_t longest_stop = 0;
  for (const auto& s : options.stop_strings) longest_stop = std::max(longest_stop, s.size());

  auto emit = [&](const std::string& piece) {
    if (options.on_text && !piece.empty()) options.on_text(piece);
    result.text += piece;
  };
  auto stopped_by_string = [&]() -> bool {
    for (const auto& s : options.stop_strings) {
      if (s.empty()) continue;
      if (auto at = pending.find(s); at != std::string::npos) {
        emit(pending.substr(0, at));
        pending.clear();
        return true;
      }
    }
    // Everything that cannot be the start of a stop string is final.
    if (pending.size() > longest_stop) {
      std::size_t safe = pending.size() - longest_stop;
      while (safe > 0 && (static_cast<unsigned char>(pending[safe]) & 0xc0) == 0x80) --safe;  // whole characters
      emit(pending.substr(0, safe));
      pending.erase(0, safe);
    }
    return false;
  };

  for (int step = 0;; ++step) {
    if (options.cancel && options.cancel->load()) {
      result.reason = StopReason::cancelled;
      break;
    }
    if (step >= options.max_new_tokens) {
      result.reason = StopReason::max_tokens;
      break;
    }
    const int token = sampler.sample(logits, history);
    if (tokenizer.ends_text(token)) {
      result.reason = StopReason::eos;
      break;
    }
    if (std::find(options.stop_tokens.begin(), options.stop_tokens.end(), token) != options.stop_tokens.end()) {
      result.reason = StopReason::stop_token;
      break;
    }
    result.tokens.push_back(token);
    history.push_back(token);
    pending += stream.push(token);
    if (stopped_by_string()) {
      result.reason = StopReason::stop_string;
      return result;
    }
    if (session.position() >= session.max_positions()) {
      result.reason = StopReason::context_full;
      break;
    }
    logits = session.decode(token);
  }
  pending += stream.finish();
  if (!stopped_by_string()) emit(pending);
  else result.reason = StopReason::stop_string;
  return result;
}

}  // namespace hd
