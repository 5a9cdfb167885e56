#pragma once
// A backend runs the StripedHyena blocks on some hardware. The CPU backend is the
// readable reference; other backends are tested against it.
#include <cstdint>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "hd/engine/inference_state.h"
#include "hd/engine/model_config.h"

namespace hd {

class Checkpoint;

// How the Hyena long convolution is computed over a chunk of prompt (decode always steps
// the recurrence). Both give the same result to float32 rounding. `automatic` lets the
// backend pick what measured faster on it (bench/results: the recurrence on the CPU at 2k
// tokens, 2.74 s against 2.97 s; the scan on an H100 at 8k, 0.89 s against 1.38 s).
enum class LongConvMethod { automatic, fft, recurrence };

struct ForwardOptions {
  bool all_logits = false;                  // logits for every position of the chunk, not only the last
  LongConvMethod long_conv = LongConvMethod::automatic;
};

// A session's state as a backend keeps it (host memory for the CPU, device memory for CUDA).
class BackendState {
 public:
  virtual ~BackendState() = default;
  virtual std::int64_t position() const = 0;
  virtual std::uint64_t bytes() const = 0;  // cache and state memory held
};

// A copy of a session's state in the backend's own layout (bf16 KV cache and all), so moving it
// back is one copy: the prefill cache of a long document. In host memory (pinned for the CUDA
// backend), or, from save_on_device(), in GPU memory: a few milliseconds each way.
class SavedState {
 public:
  virtual ~SavedState() = default;
  virtual std::int64_t position() const = 0;
  virtual std::uint64_t bytes() const = 0;
  virtual bool on_device() const { return false; }
  // The bytes themselves (host copies only), written to disk as they are by the prefill cache.
  virtual std::span<const std::byte> host_bytes() const = 0;
  virtual std::span<std::byte> writable_host_bytes() = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;
  virtual const ModelConfig& config() const = 0;
  // An empty state with room for `max_positions` tokens (the backend may reserve it up front).
  virtual std::unique_ptr<BackendState> new_state(std::int64_t max_positions) const = 0;
  // Runs `tokens`, continuing from `state` (position, caches), and advances `state`.
  // Returns logits: [vocab] for the last position, or [tokens.size(), vocab] with all_logits.
  // Token ids must be valid; callers (Session) check them.
  virtual std::vector<float> forward(std::span<const int> tokens, BackendState& state,
                                     const ForwardOptions& options) const = 0;
  // Moving a state to and from the host form, for snapshots and for comparing backends.
  virtual InferenceState to_host(const BackendState& state) const = 0;
  virtual void from_host(const InferenceState& host, BackendState& state) const = 0;
  // Fast copies to and from host memory in the backend's layout (no conversion).
  virtual std::unique_ptr<SavedState> save(const BackendState& state) const = 0;
  virtual void load(const SavedState& saved, BackendState& state) const = 0;
  // The same in the GPU's memory; null where the backend has none (the CPU).
  virtual std::unique_ptr<SavedState> save_on_device(const BackendState&) const { return nullptr; }
  // A host copy of a saved state kept in GPU memory, made on a stream of its own so it may run on
  // another thread while the model works (the prefill cache's background writer).
  virtual std::unique_ptr<SavedState> copy_to_host(const SavedState&) const {
    throw std::invalid_argument("this backend keeps no saved states in device memory");
  }
  // An empty host saved state of `bytes` at `position`, for the disk tier to read into; refuses
  // (std::invalid_argument) a size this backend's layout does not give for that position.
  virtual std::unique_ptr<SavedState> blank_saved(std::int64_t position, std::uint64_t bytes) const = 0;
  // What the saved bytes mean (backend, element types, shapes): files of another layout are refused.
  virtual std::uint64_t saved_layout() const = 0;
};

struct CpuBackendOptions {
  int threads = 0;  // 0: all hardware threads
};

// The CPU reference backend: weights converted to float32 once, BLAS for matrix products.
std::unique_ptr<Backend> make_cpu_backend(const Checkpoint& checkpoint, const CpuBackendOptions& options = {});

struct CudaBackendOptions {
  int device = 0;
  bool float32 = false;     // weights and activations in float32 (tests); default bf16 with float32 accumulation
  int max_chunk = 8192;     // prompt tokens per pass: working buffers are sized to this, not to the prompt
  bool decode_graphs = true;  // replay one-token steps as a CUDA graph (fewer launches)
};

// The CUDA backend (kernels/ + cuBLAS). Throws when this build has no CUDA, when no device is
// usable, or when the weights do not fit (an out-of-memory hd::CudaError).
std::unique_ptr<Backend> make_cuda_backend(const Checkpoint& checkpoint, const CudaBackendOptions& options = {});

}  // namespace hd
