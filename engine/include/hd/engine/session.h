#pragma once
// An inference session: the state of one conversation with the model. Prefill reads a
// prompt (in one piece or in chunks that continue each other), decode adds one token at a
// time, and snapshot/restore move the whole state to and from a file.
#include <cstdint>
#include <filesystem>
#include <span>
#include <stdexcept>
#include <vector>

#include "hd/engine/backend.h"
#include "hd/engine/inference_state.h"

namespace hd {

class SessionError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct SessionOptions {
  LongConvMethod long_conv = LongConvMethod::automatic;
  std::int64_t max_positions = 0;  // 0: the model's max_seqlen
};

class Session {
 public:
  Session(const Backend& backend, std::uint64_t model_fingerprint, const SessionOptions& options = {});

  // Reads `tokens` after what the session holds; returns the last position's logits
  // ([vocab]) or, with all_logits, [tokens.size(), vocab]. Refuses an empty prompt, ids
  // outside the vocabulary and prompts past max_positions, with the numbers in the message.
  std::vector<float> prefill(std::span<const int> tokens, bool all_logits = false);
  // One token through the model; returns its logits [vocab].
  std::vector<float> decode(int token);

  void snapshot(const std::filesystem::path& path) const;
  void restore(const std::filesystem::path& path);
  // The state kept in host memory in the backend's own layout: the fast way to come back to
  // a document that was read before (a follow-up question).
  std::unique_ptr<SavedState> save() const;
  // The same in GPU memory (restoring is a device-to-device copy); null on a backend without one.
  std::unique_ptr<SavedState> save_on_device() const;
  void resume(const SavedState& saved);
  void reset();

  std::int64_t position() const { return state_->position(); }
  std::int64_t max_positions() const { return max_positions_; }
  // The state in host form (copied from the backend's memory).
  InferenceState host_state() const { return backend_.to_host(*state_); }
  const Backend& backend() const { return backend_; }

  Session(const Session& other);  // an independent copy of the state, e.g. to branch a conversation
  Session& operator=(const Session&) = delete;

 private:
  void check_tokens(std::span<const int> tokens) const;
  std::vector<float> run(std::span<const int> tokens, const ForwardOptions& options);

  const Backend& backend_;
  std::uint64_t fingerprint_;
  SessionOptions options_;
  std::int64_t max_positions_;
  std::unique_ptr<BackendState> state_;
  bool broken_ = false;  // a forward pass failed midway: the state is partial
};

}  // namespace hd
