// The grafted hybrid scripts/setup builds from SmolLM2-135M-Instruct and the graft file in grafts/
// (scripts/graft: every other attention block replaced by a Hyena block, distilled on the GPU
// machine): its layer pattern and provenance, and our CPU engine against our PyTorch StripedHyena
// (scripts/graft/golden.py) on the same weights: float32 logits within 1e-4 relative, the same 64
// greedy tokens. The engine runs the hybrid unchanged: it is a plain StripedHyena checkpoint.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include <nlohmann/json.hpp>

#include "hd/engine/backend.h"
#include "hd/engine/checkpoint.h"
#include "hd/engine/safetensors.h"
#include "hd/engine/session.h"
#include "support/installed_models.h"
#include "support/numeric.h"

namespace hd {
namespace {

const std::filesystem::path kSource(HD_SOURCE_DIR);
const std::filesystem::path kGolden = kSource / "tests/engine/fixtures/smollm2-graft-golden/torch-float32.safetensors";

nlohmann::json graft_entry() {
  const auto lock = nlohmann::json::parse(std::ifstream(kSource / "grafts/grafts.json"));
  return lock.at("grafts").at(0);
}

std::filesystem::path graft_dir() { return test::models_dir() / graft_entry().at("name").get<std::string>(); }

#define HD_REQUIRE_GRAFT()                                                                             \
  do {                                                                                                 \
    if (!std::filesystem::exists(graft_dir() / "model.safetensors")) {                                 \
      FAIL() << graft_dir() << " is not built: run scripts/setup --models test (it grafts SmolLM2)";   \
    }                                                                                                  \
  } while (0)

std::vector<int> as_ints(const std::vector<float>& v) { return std::vector<int>(v.begin(), v.end()); }

TEST(GraftedSmolLm2, EveryOtherBlockIsHyenaAndTheFolderNamesItsTeacherAndGraft) {
  HD_REQUIRE_SMOLLM2();
  HD_REQUIRE_GRAFT();
  auto checkpoint = Checkpoint::open(graft_dir());
  const ModelConfig& c = checkpoint->config();
  ASSERT_EQ(c.num_layers, 30);
  for (int i = 0; i < c.num_layers; ++i) {
    const bool hyena = i % 2 == 1 && i < 29;  // first and last stay attention
    EXPECT_EQ(c.blocks[static_cast<std::size_t>(i)], hyena ? BlockKind::hyena : BlockKind::attention) << "block " << i;
  }
  EXPECT_EQ(c.num_hyena_blocks(), 14);
  // Half the attention blocks: the cache of a long document is a little over half the teacher's.
  auto teacher = Checkpoint::open(test::smollm2_dir());
  EXPECT_EQ(c.kv_cache_bytes(8192) * 30, teacher->config().kv_cache_bytes(8192) * 16);
  const auto p = nlohmann::json::parse(std::ifstream(graft_dir() / "PROVENANCE.json"));
  EXPECT_EQ(p.at("graft_sha256"), graft_entry().at("sha256")) << "built from the graft file in the repository";
  EXPECT_EQ(p.at("teacher"), "smollm2-135m-instruct");
  EXPECT_EQ(p.at("licence"), "Apache-2.0");
}

TEST(GraftedSmolLm2, CpuForwardMatchesOurPyTorchStripedHyenaAndGreedyTokensAgree) {
  HD_REQUIRE_SMOLLM2();
  HD_REQUIRE_GRAFT();
  ASSERT_TRUE(std::filesystem::exists(kGolden)) << kGolden;
  auto golden = SafetensorsFile::open(kGolden);
  auto get = [&](const char* name) { return golden->tensors().at(name).to_floats(); };
  auto checkpoint = Checkpoint::open(graft_dir());
  auto backend = make_cpu_backend(*checkpoint);
  const std::vector<int> prompt = as_ints(get("prompt"));
  const std::vector<int> positions = as_ints(get("positions"));
  const std::vector<float> want = get("logits");
  const std::size_t vocab = static_cast<std::size_t>(checkpoint->config().vocab_size);
  Session session(*backend, checkpoint->fingerprint());
  const std::vector<float> all = session.prefill(prompt, /*all_logits=*/true);
  for (std::size_t k = 0; k < positions.size(); ++k) {
    const std::span<const float> got(all.data() + static_cast<std::size_t>(positions[k]) * vocab, vocab);
    const std::span<const float> ref(want.data() + k * vocab, vocab);
    EXPECT_LT(test::rel_error(got, ref), 1e-4) << "position " << positions[k];
  }
  const std::vector<int> greedy = as_ints(get("greedy"));
  const std::vector<float> margin = get("greedy_margin");
  ASSERT_EQ(greedy.size(), 64u);
  std::vector<float> logits(all.end() - static_cast<std::ptrdiff_t>(vocab), all.end());
  int same = 0, ties = 0;
  for (std::size_t step = 0; step < greedy.size(); ++step) {
    const int ours = test::argmax(logits);
    if (margin[step] < 1e-3f) ++ties;
    else EXPECT_EQ(ours, greedy[step]) << "step " << step << " (PyTorch's margin " << margin[step] << ")";
    same += ours == greedy[step];
    logits = session.decode(greedy[step]);  // the Hyena blocks' recurrent state, step by step
  }
  EXPECT_LE(ties, 2) << "too many ties to tell anything";
  std::printf("greedy: %d of %zu tokens identical to PyTorch (%d ties within rounding)\n", same, greedy.size(), ties);
  EXPECT_LT(test::rel_error(logits, get("greedy_logits_last")), 1e-4) << "after 64 decode steps";
  EXPECT_EQ(golden->metadata().at("model_sha256").size(), 64u);
}

}  // namespace
}  // namespace hd
