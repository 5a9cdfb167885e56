#include "hd/engine/session.h"

#include <string>

namespace hd {

Session::Session(const Backend& backend, std::uint64_t model_fingerprint, const SessionOptions& options)
    : backend_(backend),
      fingerprint_(model_fingerprint),
      options_(options),
      max_positions_(options.max_positions > 0 ? options.max_positions : backend.config().max_seqlen),
      state_(backend.new_state(max_positions_)) {}

Session::Session(const Session& other)
    : backend_(other.backend_),
      fingerprint_(other.fingerprint_),
      options_(other.options_),
      max_positions_(other.max_positions_),
      state_(other.backend_.new_state(other.max_positions_)),
      broken_(other.broken_) {
  backend_.from_host(other.backend_.to_host(*other.state_), *state_);
}

void Session::check_tokens(std::span<const int> tokens) const {
  if (broken_) throw SessionError("the session's state is incomplete after an earlier error; reset or restore it");
  const int vocab = backend_.config().vocab_size;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    if (tokens[i] < 0 || tokens[i] >= vocab) {
      throw SessionError("token id " + std::to_string(tokens[i]) + " at position " + std::to_string(i) +
                         " is outside the vocabulary (0.." + std::to_string(vocab - 1) + ")");
    }
  }
  const auto total = state_->position() + static_cast<std::int64_t>(tokens.size());
  if (total > max_positions_) {
    throw SessionError("prompt of " + std::to_string(tokens.size()) + " tokens does not fit: " +
                       std::to_string(state_->position()) + " already in context, maximum " +
                       std::to_string(max_positions_) + " tokens");
  }
}

std::vector<float> Session::run(std::span<const int> tokens, const ForwardOptions& options) {
  check_tokens(tokens);
  try {
    return backend_.forward(tokens, *state_, options);
  } catch (...) {
    broken_ = true;
    throw;
  }
}

std::vector<float> Session::prefill(std::span<const int> tokens, bool all_logits) {
  if (tokens.empty()) throw SessionError("empty prompt: there is nothing to read");
  return run(tokens, {.all_logits = all_logits, .long_conv = options_.long_conv});
}

std::vector<float> Session::decode(int token) {
  const int one[1] = {token};
  return run(one, {.all_logits = false, .long_conv = LongConvMethod::recurrence});
}

void Session::snapshot(const std::filesystem::path& path) const {
  if (broken_) throw SessionError("cannot save an incomplete state (an earlier call failed)");
  backend_.to_host(*state_).save(path, fingerprint_);
}

void Session::restore(const std::filesystem::path& path) {
  InferenceState host = InferenceState::load(path, fingerprint_, backend_.config());
  if (host.position > max_positions_) {
    throw SessionError(path.string() + ": the saved state holds " + std::to_string(host.position) +
                       " tokens, more than this session's maximum of " + std::to_string(max_positions_));
  }
  backend_.from_host(host, *state_);
  broken_ = false;
}

std::unique_ptr<SavedState> Session::save() const {
  if (broken_) throw SessionError("cannot save an incomplete state (an earlier call failed)");
  return backend_.save(*state_);
}

std::unique_ptr<SavedState> Session::save_on_device() const {
  if (broken_) throw SessionError("cannot save an incomplete state (an earlier call failed)");
  return backend_.save_on_device(*state_);
}

void Session::resume(const SavedState& saved) {
  if (saved.position() > max_positions_) {
    throw SessionError("the saved state holds " + std::to_string(saved.position()) +
                       " tokens, more than this session's maximum of " + std::to_string(max_positions_));
  }
  backend_.load(saved, *state_);
  broken_ = false;
}

void Session::reset() {
  state_ = backend_.new_state(max_positions_);
  broken_ = false;
}

}  // namespace hd
