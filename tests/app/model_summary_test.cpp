#include <gtest/gtest.h>

#include "hd/app/model_summary.h"
#include "hd/engine/model_presets.h"
#include "hd/engine/random_checkpoint.h"
#include "hd/engine/safetensors.h"
#include "support/temp_dir.h"

namespace hd {
namespace {

TEST(ModelSummary, DescribesPatternParametersAndCacheForTheContext) {
  test::TempDir d;
  write_random_checkpoint(preset_config("tiny-mix"), d.path(), {});
  std::string s = model_summary_text(d.path(), {.context_tokens = 1000});
  EXPECT_NE(s.find("4 (3 Hyena, 1 attention): HHAH"), std::string::npos) << s;
  EXPECT_NE(s.find("state size 4"), std::string::npos) << s;
  EXPECT_NE(s.find("untied"), std::string::npos) << s;
  // 1 attention block x 2 x 4 kv heads x 12 dims x 1000 tokens x 2 bytes = 192000 B = 187.50 KiB
  EXPECT_NE(s.find("at 1000 tokens: KV cache 187.50 KiB"), std::string::npos) << s;
  EXPECT_NE(s.find("F32"), std::string::npos) << "poles and residues are float32: " << s;
}

TEST(ModelSummary, PropagatesLoaderErrors) {
  test::TempDir d;
  EXPECT_THROW(model_summary_text(d / "missing"), WeightsError);
}

}  // namespace
}  // namespace hd
