#pragma once
// Choosing the next token from logits: greedy, or temperature with top-k / top-p and a
// repetition penalty, reproducible from a seed.
#include <cstdint>
#include <random>
#include <span>
#include <vector>

namespace hd {

struct SamplingOptions {
  float temperature = 0.0f;         // 0: greedy (argmax)
  int top_k = 0;                    // 0: no limit
  float top_p = 1.0f;               // nucleus: smallest set with this much probability
  float repetition_penalty = 1.0f;  // > 1 discourages tokens already in the history (CTRL-style)
  std::uint64_t seed = 0;
};

class Sampler {
 public:
  explicit Sampler(const SamplingOptions& options);
  // `history`: tokens already in the context (for the repetition penalty).
  int sample(std::span<const float> logits, std::span<const int> history);

 private:
  SamplingOptions options_;
  std::mt19937_64 rng_;
};

}  // namespace hd
