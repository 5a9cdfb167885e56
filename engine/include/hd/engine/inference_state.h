#pragma once
// Everything a session carries between calls: the position, the attention KV caches and
// the Hyena FIR/IIR states. Host memory, float32; backends keep their own copies in their
// own memory and convert to this form for snapshots.
#include <complex>
#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <vector>

#include "hd/engine/model_config.h"

namespace hd {

class StateError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct AttentionCache {
  int kv_width = 0;         // kv_heads * head_dim
  std::vector<float> k, v;  // [positions, kv_width], rotary already applied to k
};

struct HyenaState {
  int fir_taps = 0;                             // short_filter_length - 1 saved inputs
  int channels = 0;                             // 3 * hidden_size
  std::vector<float> fir;                       // [fir_taps, channels], oldest first, before the FIR
  int state_size = 0;
  std::vector<std::complex<float>> iir;         // [hidden_size, state_size]
};

struct InferenceState {
  std::int64_t position = 0;                    // tokens consumed so far
  std::vector<BlockKind> kinds;                 // per block
  std::vector<AttentionCache> attention;        // per block (empty for Hyena blocks)
  std::vector<HyenaState> hyena;                // per block (empty for attention blocks)

  static InferenceState empty_for(const ModelConfig& config);
  std::uint64_t bytes() const;                  // memory held by caches and states

  // Versioned file with the model fingerprint, position, dtypes and a checksum; written
  // atomically (temporary file, fsync, rename).
  void save(const std::filesystem::path& path, std::uint64_t model_fingerprint) const;
  // Refuses a file that is damaged, of another version, or of another model, saying why.
  static InferenceState load(const std::filesystem::path& path, std::uint64_t model_fingerprint,
                             const ModelConfig& config);
};

}  // namespace hd
