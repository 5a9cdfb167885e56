// The generation loop with the real tokenizer on a tiny random model: limits, stop tokens
// and strings, streaming, cancellation, context limit.
#include <gtest/gtest.h>

#include "hd/engine/backend.h"
#include "hd/engine/checkpoint.h"
#include "hd/engine/generate.h"
#include "hd/engine/model_presets.h"
#include "hd/engine/prompt_template.h"
#include "hd/engine/random_checkpoint.h"
#include "support/temp_dir.h"

namespace hd {
namespace {

const std::filesystem::path kTokenizerJson =
    std::filesystem::path(HD_SOURCE_DIR) / "tests/engine/fixtures/stripedhyena-tokenizer/tokenizer.json";

class GenerateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(std::filesystem::exists(kTokenizerJson)) << "the tokenizer fixture is missing: " << kTokenizerJson;
    write_random_checkpoint(preset_config("tiny-32k"), dir_.path(), {.seed = 5, .tokenizer_json = kTokenizerJson});
    checkpoint_ = Checkpoint::open(dir_.path());
    backend_ = make_cpu_backend(*checkpoint_);
    tokenizer_ = Tokenizer::from_file(dir_ / "tokenizer.json");
    prompt_ = tokenizer_->encode(nous_chat_prompt("Summarize the attached report."));
  }
  GenerateResult run(GenerateOptions options, std::int64_t max_positions = 0) {
    Session session(*backend_, checkpoint_->fingerprint(), {.max_positions = max_positions});
    return generate(session, *tokenizer_, prompt_, options);
  }
  test::TempDir dir_;
  std::unique_ptr<Checkpoint> checkpoint_;
  std::unique_ptr<Backend> backend_;
  std::unique_ptr<Tokenizer> tokenizer_;
  std::vector<int> prompt_;
};

TEST_F(GenerateTest, StopsAtTheTokenLimitAndStreamsExactlyTheText) {
  std::string streamed;
  GenerateResult r = run({.max_new_tokens = 24, .on_text = [&](const std::string& s) { streamed += s; }});
  EXPECT_EQ(r.reason, StopReason::max_tokens);
  EXPECT_EQ(r.tokens.size(), 24u);
  EXPECT_EQ(streamed, r.text);
  EXPECT_EQ(r.text, tokenizer_->decode(r.tokens));
}

TEST_F(GenerateTest, GreedyIsDeterministic) {
  EXPECT_EQ(run({.max_new_tokens = 16}).tokens, run({.max_new_tokens = 16}).tokens);
}

TEST_F(GenerateTest, StopTokenEndsBeforeIt) {
  GenerateResult full = run({.max_new_tokens = 24});
  const int stop = full.tokens[6];
  const auto first = std::find(full.tokens.begin(), full.tokens.end(), stop) - full.tokens.begin();
  GenerateResult r = run({.max_new_tokens = 24, .stop_tokens = {stop}});
  EXPECT_EQ(r.reason, StopReason::stop_token);
  EXPECT_EQ(static_cast<long>(r.tokens.size()), first);
}

TEST_F(GenerateTest, StopStringCutsTheTextBeforeItAndNothingAfterIsStreamed) {
  GenerateResult full = run({.max_new_tokens = 24});
  ASSERT_GT(full.text.size(), 12u);
  const std::string stop = full.text.substr(full.text.size() / 2, 4);
  const std::size_t at = full.text.find(stop);
  std::string streamed;
  GenerateResult r = run({.max_new_tokens = 24, .stop_strings = {stop}, .on_text = [&](const std::string& s) {
                            streamed += s;
                          }});
  EXPECT_EQ(r.reason, StopReason::stop_string);
  EXPECT_EQ(r.text, full.text.substr(0, at));
  EXPECT_EQ(streamed, r.text);
}

TEST_F(GenerateTest, CancellationStopsPromptly) {
  std::atomic<bool> cancel{false};
  int pieces = 0;
  GenerateResult r = run({.max_new_tokens = 200, .on_text = [&](const std::string&) {
                            if (++pieces == 2) cancel = true;
                          },
                          .cancel = &cancel});
  EXPECT_EQ(r.reason, StopReason::cancelled);
  EXPECT_LT(r.tokens.size(), 20u);
}

TEST_F(GenerateTest, ContextLimitEndsGenerationWithoutError) {
  GenerateResult r = run({.max_new_tokens = 200}, static_cast<std::int64_t>(prompt_.size()) + 5);
  EXPECT_EQ(r.reason, StopReason::context_full);
  EXPECT_LE(r.tokens.size(), 6u);
}

TEST(PromptTemplate, NousChatFormat) {
  EXPECT_EQ(nous_chat_prompt("Hi"), "### Instruction:\nHi\n\n### Response:\n");
}

}  // namespace
}  // namespace hd
