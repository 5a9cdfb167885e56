// The grafted hybrid scripts/setup builds from SmolLM2-135M-Instruct and the graft file in grafts/
// (scripts/graft: every other attention block replaced by a Hyena block, distilled on the GPU
// machine): its layer pattern and provenance, and our CPU engine against our PyTorch StripedHyena
// (scripts/graft/golden.py) on the same weights: float32 logits within 1e-4 relative, the same 64
// greedy tokens. The engine runs the hybrid unchanged: it is a plain StripedHyena checkpoint.
#include <gtest/gtest.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "hd/engine/checkpoint.h"
#include "hd/engine/safetensors.h"
#include "support/installed_models.h"
#include "support/golden_model_check.h"

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
  // Decoding walks the Hyena blocks' recurrent state step by step; the golden ran full forwards.
  test::expect_cpu_engine_matches_golden(*Checkpoint::open(graft_dir()), *SafetensorsFile::open(kGolden), "PyTorch");
}

}  // namespace
}  // namespace hd
