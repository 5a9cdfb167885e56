// The hybrid scripts/setup builds from the default model, Qwen2.5-Coder-1.5B-Instruct, and the 8-bit
// graft file in grafts/ (13 of 28 attention blocks replaced by Hyena blocks, chosen by
// scripts/graft/rank_layers.py, distilled on the GPU machine): its layer pattern, its cache at full
// context, its provenance, and our CPU engine against our PyTorch StripedHyena
// (scripts/graft/golden.py) on the same weights: float32 logits within 1e-4 relative, the same 64
// greedy tokens. A selectable model, not the default (bench/results/graft-qwen2.5-coder-1.5b-*.md
// says why).
//
// Its own executable with the label `model` (setup installs the teacher with --models ci; the
// sanitizer suite runs label cpu only): a 1.5B model in float32, about 35 s on two cores.
#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include "hd/engine/checkpoint.h"
#include "hd/engine/safetensors.h"
#include "support/golden_model_check.h"
#include "support/installed_models.h"

namespace hd {
namespace {

namespace fs = std::filesystem;

const fs::path kSource(HD_SOURCE_DIR);
const fs::path kGolden = kSource / "tests/engine/fixtures/qwen-graft-golden/torch-float32.safetensors";
constexpr const char* kTeacher = "qwen2.5-coder-1.5b-instruct";

nlohmann::json graft_entry() {
  const auto lock = nlohmann::json::parse(std::ifstream(kSource / "grafts/grafts.json"));
  for (const auto& g : lock.at("grafts")) {
    if (g.at("teacher") == kTeacher) return g;
  }
  ADD_FAILURE() << "grafts/grafts.json has no graft of " << kTeacher;
  return {};
}

fs::path graft_dir() { return test::models_dir() / graft_entry().value("name", std::string("(none)")); }

#define HD_REQUIRE_QWEN_GRAFT()                                                                        \
  do {                                                                                                 \
    if (!fs::exists(graft_dir() / "model.safetensors")) {                                              \
      FAIL() << graft_dir() << " is not built: run scripts/setup --models ci (it installs " << kTeacher \
             << " and builds its graft)";                                                              \
    }                                                                                                  \
  } while (0)

TEST(GraftedQwen, ChosenBlocksAreHyenaAndTheCacheAtFullContextIsUnder55Percent) {
  HD_REQUIRE_QWEN_GRAFT();
  auto checkpoint = Checkpoint::open(graft_dir());
  const ModelConfig& c = checkpoint->config();
  ASSERT_EQ(c.num_layers, 28);
  const std::set<int> hyena{1, 3, 4, 6, 7, 9, 11, 13, 15, 18, 21, 22, 24};
  for (int i = 0; i < c.num_layers; ++i) {
    EXPECT_EQ(c.blocks[static_cast<std::size_t>(i)], hyena.count(i) ? BlockKind::hyena : BlockKind::attention)
        << "block " << i;
  }
  // The bar: at most 55% of the teacher's inference cache at the model's full context
  // (15 attention blocks of 28 keep a KV cache; the 13 Hyena states are a fixed 0.8 MB).
  auto teacher = Checkpoint::open(test::models_dir() / kTeacher);
  const std::int64_t context = teacher->config().max_seqlen;
  ASSERT_EQ(context, 32768);
  const double share = static_cast<double>(c.kv_cache_bytes(context) + c.hyena_state_bytes()) /
                       static_cast<double>(teacher->config().kv_cache_bytes(context));
  EXPECT_LE(share, 0.55);
  EXPECT_GT(share, 15.0 / 28.0);  // the Hyena state is not free
  const auto p = nlohmann::json::parse(std::ifstream(graft_dir() / "PROVENANCE.json"));
  EXPECT_EQ(p.at("graft_sha256"), graft_entry().at("sha256")) << "built from the graft file in the repository";
  EXPECT_EQ(p.at("teacher"), kTeacher);
  EXPECT_EQ(p.at("licence"), "Apache-2.0");
}

TEST(GraftedQwen, CpuForwardMatchesOurPyTorchStripedHyenaAndGreedyTokensAgree) {
  HD_REQUIRE_QWEN_GRAFT();
  ASSERT_TRUE(fs::exists(kGolden)) << kGolden;
  test::expect_cpu_engine_matches_golden(*Checkpoint::open(graft_dir()), *SafetensorsFile::open(kGolden), "PyTorch");
}

}  // namespace
}  // namespace hd
