#include <gtest/gtest.h>

#include <map>

#include "hd/engine/sampler.h"

namespace hd {
namespace {

const std::vector<float> kLogits = {0.1f, 2.0f, 1.9f, -1.0f, 0.5f};

TEST(Sampler, GreedyTakesTheArgmax) {
  Sampler s({});
  EXPECT_EQ(s.sample(kLogits, {}), 1);
}

TEST(Sampler, TopKOneIsGreedyAtAnyTemperature) {
  Sampler s({.temperature = 5.0f, .top_k = 1, .seed = 3});
  for (int i = 0; i < 20; ++i) EXPECT_EQ(s.sample(kLogits, {}), 1);
}

TEST(Sampler, SmallTopPKeepsOnlyTheLikeliest) {
  Sampler s({.temperature = 1.0f, .top_p = 0.01f, .seed = 3});
  for (int i = 0; i < 20; ++i) EXPECT_EQ(s.sample(kLogits, {}), 1);
}

TEST(Sampler, SameSeedSameChoicesAndTemperatureSpreadsThem) {
  Sampler a({.temperature = 1.0f, .seed = 42}), b({.temperature = 1.0f, .seed = 42});
  std::map<int, int> counts;
  for (int i = 0; i < 400; ++i) {
    int x = a.sample(kLogits, {});
    EXPECT_EQ(x, b.sample(kLogits, {}));
    counts[x]++;
  }
  EXPECT_GT(counts[2], 50) << "token 2 is almost as likely as token 1";
  EXPECT_GT(counts[1], counts[3]);
}

TEST(Sampler, TopKExcludesTheRest) {
  Sampler s({.temperature = 100.0f, .top_k = 2, .seed = 5});
  for (int i = 0; i < 100; ++i) {
    int x = s.sample(kLogits, {});
    EXPECT_TRUE(x == 1 || x == 2) << x;
  }
}

TEST(Sampler, RepetitionPenaltyMovesAwayFromHistory) {
  Sampler s({.repetition_penalty = 1.5f});
  EXPECT_EQ(s.sample(kLogits, std::vector<int>{1}), 2);  // 2.0/1.5 < 1.9
}

TEST(Sampler, RejectsOptionsOutOfRange) {
  EXPECT_THROW(Sampler({.temperature = -1.0f}), std::invalid_argument);
  EXPECT_THROW(Sampler({.top_p = 0.0f}), std::invalid_argument);
  EXPECT_THROW(Sampler({.repetition_penalty = 0.0f}), std::invalid_argument);
}

}  // namespace
}  // namespace hd
