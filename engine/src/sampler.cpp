#include "hd/engine/sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <unordered_set>

namespace hd {

Sampler::Sampler(const SamplingOptions& options) : options_(options), rng_(options.seed) {
  if (options.temperature < 0 || !(options.top_p > 0 && options.top_p <= 1) || options.top_k < 0 ||
      !(options.repetition_penalty > 0)) {
    throw std::invalid_argument("sampling options out of range (temperature >= 0, 0 < top_p <= 1, top_k >= 0, "
                                "repetition_penalty > 0)");
  }
}

int Sampler::sample(std::span<const float> logits_in, std::span<const int> history) {
  if (logits_in.empty()) throw std::invalid_argument("sample: no logits");
  std::vector<float> logits(logits_in.begin(), logits_in.end());
  if (options_.repetition_penalty != 1.0f) {
    std::unordered_set<int> seen(history.begin(), history.end());
    for (int id : seen) {
      if (id < 0 || id >= static_cast<int>(logits.size())) continue;
      float& l = logits[id];
      l = l > 0 ? l / options_.repetition_penalty : l * options_.repetition_penalty;
    }
  }
  if (options_.temperature == 0.0f) {
    return static_cast<int>(std::max_element(logits.begin(), logits.end()) - logits.begin());
  }
  std::vector<int> order(logits.size());
  std::iota(order.begin(), order.end(), 0);
  std::size_t keep = order.size();
  if (options_.top_k > 0) keep = std::min<std::size_t>(keep, options_.top_k);
  std::partial_sort(order.begin(), order.begin() + static_cast<long>(keep), order.end(),
                    [&](int a, int b) { return logits[a] > logits[b]; });
  order.resize(keep);
  std::vector<double> prob(keep);
  const double top = logits[order[0]];
  double total = 0;
  for (std::size_t i = 0; i < keep; ++i) total += prob[i] = std::exp((logits[order[i]] - top) / options_.temperature);
  if (options_.top_p < 1.0f) {
    double mass = 0;
    std::size_t n = 0;
    while (n < keep && mass < options_.top_p * total) mass += prob[n++];
    keep = std::max<std::size_t>(n, 1);
    prob.resize(keep);
  }
  std::discrete_distribution<std::size_t> pick(prob.begin(), prob.end());
  return order[pick(rng_)];
}

}  // namespace hd
