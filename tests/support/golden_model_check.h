#pragma once
// Our CPU engine against a model's golden file (scripts/fixtures/make_imported_model_golden.py for
// transformers, scripts/graft/golden.py for our PyTorch StripedHyena): float32 logits within 1e-4
// relative at the recorded positions, and 64 greedy steps each taking the golden token, where every
// step whose golden top-two logits are not a tie (gap >= 1e-3) must pick the same token; at most two
// ties, and the logits after the last step within 1e-4 too.
#include <gtest/gtest.h>

#include <cstdio>

#include "hd/engine/backend.h"
#include "hd/engine/checkpoint.h"
#include "hd/engine/safetensors.h"
#include "hd/engine/session.h"
#include "support/numeric.h"

namespace hd::test {

inline std::vector<int> golden_ints(const SafetensorsFile& golden, const char* name) {
  const std::vector<float> v = golden.tensors().at(name).to_floats();
  return std::vector<int>(v.begin(), v.end());
}

inline void expect_cpu_engine_matches_golden(const Checkpoint& checkpoint, const SafetensorsFile& golden, const char* peer) {
  auto get = [&](const char* name) { return golden.tensors().at(name).to_floats(); };
  auto backend = make_cpu_backend(checkpoint);
  const std::vector<int> prompt = golden_ints(golden, "prompt");
  const std::vector<int> positions = golden_ints(golden, "positions");
  const std::vector<float> want = get("logits");
  const std::size_t vocab = static_cast<std::size_t>(checkpoint.config().vocab_size);
  Session session(*backend, checkpoint.fingerprint());
  const std::vector<float> all = session.prefill(prompt, /*all_logits=*/true);
  for (std::size_t k = 0; k < positions.size(); ++k) {
    const std::span<const float> got(all.data() + static_cast<std::size_t>(positions[k]) * vocab, vocab);
    const std::span<const float> ref(want.data() + k * vocab, vocab);
    EXPECT_LT(rel_error(got, ref), 1e-4) << "position " << positions[k];
  }
  const std::vector<int> greedy = golden_ints(golden, "greedy");
  const std::vector<float> margin = get("greedy_margin");
  ASSERT_EQ(greedy.size(), 64u);
  std::vector<float> logits(all.end() - static_cast<std::ptrdiff_t>(vocab), all.end());
  int same = 0, ties = 0;
  for (std::size_t step = 0; step < greedy.size(); ++step) {
    const int ours = argmax(logits);
    if (margin[step] < 1e-3f) ++ties;
    else EXPECT_EQ(ours, greedy[step]) << "step " << step << " (" << peer << "'s margin " << margin[step] << ")";
    same += ours == greedy[step];
    logits = session.decode(greedy[step]);  // follow the golden path: one tie cannot cascade
  }
  EXPECT_LE(ties, 2) << "too many ties to tell anything";
  std::printf("greedy: %d of %zu tokens identical to %s (%d ties within rounding)\n", same, greedy.size(), peer, ties);
  EXPECT_LT(rel_error(logits, get("greedy_logits_last")), 1e-4) << "after 64 decode steps";
  EXPECT_EQ(golden.metadata().at("model_sha256").size(), 64u);
}

}  // namespace hd::test
