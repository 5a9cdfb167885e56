#pragma once
// Shared helpers for numeric comparisons in tests.
#include <algorithm>
#include <cmath>
#include <random>
#include <span>
#include <vector>

namespace hd::test {

// ||got - want|| / ||want|| in double; infinity if `got` has a non-finite value.
inline double rel_error(std::span<const float> got, std::span<const float> want) {
  double num = 0, den = 0;
  for (std::size_t i = 0; i < want.size(); ++i) {
    if (!std::isfinite(got[i])) return INFINITY;
    num += (static_cast<double>(got[i]) - want[i]) * (static_cast<double>(got[i]) - want[i]);
    den += static_cast<double>(want[i]) * want[i];
  }
  return std::sqrt(num / den);
}

// `n` seeded token ids in [0, vocab).
inline std::vector<int> random_tokens(int n, int vocab, unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_int_distribution<int> d(0, vocab - 1);
  std::vector<int> t(n);
  for (auto& x : t) x = d(gen);
  return t;
}

inline int argmax(std::span<const float> v) {
  return static_cast<int>(std::max_element(v.begin(), v.end()) - v.begin());
}

}  // namespace hd::test
