#pragma once
// A backend runs the StripedHyena blocks on some hardware. The CPU backend is the
// readable reference; other backends are tested against it.
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "hd/engine/inference_state.h"
#include "hd/engine/model_config.h"

namespace hd {

class Checkpoint;

// How the Hyena long convolution is computed over a chunk of prompt (decode always steps
// the recurrence). Both give the same result to float32 rounding.
enum class LongConvMethod { fft, recurrence };

struct ForwardOptions {
  bool all_logits = false;                  // logits for every position of the chunk, not only the last
  LongConvMethod long_conv = LongConvMethod::fft;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;
  virtual const ModelConfig& config() const = 0;
  // Runs `tokens`, continuing from `state` (position, caches), and advances `state`.
  // Returns logits: [vocab] for the last position, or [tokens.size(), vocab] with all_logits.
  // Token ids must be valid; callers (Session) check them.
  virtual std::vector<float> forward(std::span<const int> tokens, InferenceState& state,
                                     const ForwardOptions& options) const = 0;
};

struct CpuBackendOptions {
  int threads = 0;  // 0: all hardware threads
};

// The CPU reference backend: weights converted to float32 once, BLAS for matrix products.
std::unique_ptr<Backend> make_cpu_backend(const Checkpoint& checkpoint, const CpuBackendOptions& options = {});

}  // namespace hd
