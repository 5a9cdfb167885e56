// ask / summarize / chat mechanics on a real store of the bundled samples and a tiny random-weight
// StripedHyena with the real tokenizer (its text is noise; the mechanics are exact): a follow-up
// reuses the documents' state and answers exactly as an uncached run; chat turns read only their
// own tokens; an over-budget context switches to search passages and says so; Ctrl-C in a long
// summary returns what is done; random weights are refused unless asked for; without a model the
// answer is extractive; `ask --json` follows its documented schema.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "hd/app/ask.h"
#include "support/embedder_model.h"
#include "hd/app/ingest_folder.h"
#include "hd/engine/model_presets.h"
#include "hd/engine/random_checkpoint.h"
#include "support/temp_dir.h"

namespace hd {
namespace {

namespace fs = std::filesystem;

const fs::path kTokenizer = fs::path(HD_SOURCE_DIR) / "tests/engine/fixtures/stripedhyena-tokenizer/tokenizer.json";

class Answer : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::copy(fs::path(HD_SOURCE_DIR) / "samples", dir_ / "docs", fs::copy_options::recursive);
    store_ = Store::open(dir_ / "store");
    IngestOptions ingest;
    ingest.count_tokens = [](std::string_view s) { return (s.size() + 3) / 4; };
    ingest.chunks.max_tokens = 64;
    ingest_paths(*store_, {dir_ / "docs"}, ingest);
    write_random_checkpoint(preset_config("tiny-32k"), dir_ / "model", {.seed = 5, .tokenizer_json = kTokenizer});
    model_ = load_language_model(dir_ / "model", DevicePreference::cpu, 2);
    cache_ = std::make_unique<PrefillCache>(model_->checkpoint->fingerprint(), PrefillCacheOptions{});
    r_ = {model_.get(), cache_.get(), store_.get(), nullptr, nullptr, true};
  }
  AskOptions quick() const {
    AskOptions o;
    o.answer_tokens = 6;
    return o;
  }
  test::TempDir dir_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<LanguageModel> model_;
  std::unique_ptr<PrefillCache> cache_;
  AnswerResources r_;
};

TEST_F(Answer, AFollowUpReadsOnlyItsOwnTokensAndAnswersExactlyAsAnUncachedRun) {
  const AskResult first = ask(r_, "How long can a prompt be?", quick());
  EXPECT_EQ(first.cached_tokens, 0u);
  EXPECT_TRUE(first.context.whole_documents);
  EXPECT_EQ(first.context.documents.size(), 6u);
  const AskResult second = ask(r_, "Which formats can be read?", quick());
  EXPECT_GT(second.cached_tokens, 500u) << "the documents' state must be reused";
  EXPECT_EQ(second.cache_tier, CacheTier::memory);
  EXPECT_EQ(second.new_tokens, second.prompt_tokens - second.cached_tokens);
  EXPECT_LT(second.new_tokens, 80u) << "only the question and the turn's end are read";
  AnswerResources uncached = r_;
  uncached.cache = nullptr;
  const AskResult fresh = ask(uncached, "Which formats can be read?", quick());
  EXPECT_EQ(fresh.cached_tokens, 0u);
  EXPECT_EQ(fresh.answer, second.answer) << "a cached prefix must not change the answer";
  EXPECT_EQ(fresh.prompt_tokens, second.prompt_tokens);
}

TEST_F(Answer, ChatTurnsReadOnlyTheirOwnTokens) {
  Conversation chat(r_, {});
  const AskResult one = chat.turn("What does a Hyena filter consist of?", quick());
  const std::size_t after_one = chat.position();
  EXPECT_EQ(after_one, one.prompt_tokens + one.answer_tokens);
  const AskResult two = chat.turn("And how large is the state?", quick());
  EXPECT_EQ(two.cached_tokens, after_one) << "the conversation so far comes from the state";
  EXPECT_LT(two.new_tokens, 30u);
  EXPECT_EQ(chat.position(), after_one + two.new_tokens + two.answer_tokens);
  chat.reset();
  EXPECT_EQ(chat.position(), 0u);
}

TEST_F(Answer, DocumentsOverTheBudgetAreAnsweredFromSearchPassagesWithANotice) {
  AskOptions o = quick();
  o.context_budget = 300;
  const AskResult r = ask(r_, "How long did prefill of 131072 tokens take on the H100?", o);
  EXPECT_FALSE(r.context.whole_documents);
  ASSERT_FALSE(r.notices.empty());
  EXPECT_NE(r.notices.front().find("do not fit"), std::string::npos) << r.notices.front();
  EXPECT_LE(r.context.tokens, 400u);
  bool has_pdf = false;
  for (const auto& d : r.context.documents) has_pdf |= d.path.find("gpu-benchmark-report.pdf") != std::string::npos;
  EXPECT_TRUE(has_pdf) << "search must pick the passage that answers";
}

TEST_F(Answer, CtrlCInALongSummaryReturnsWhatIsDone) {
  const auto id = store_->document_by_path((dir_ / "docs" / "hyena-filters.md").string());
  ASSERT_TRUE(id);
  std::atomic<bool> cancel{false};
  SummarizeOptions o;
  o.context_budget = 100;  // less than the document (~300 tokens): read in sections
  o.cancel = &cancel;
  int progress_calls = 0;
  o.on_progress = [&](int done, int, double, double) {
    ++progress_calls;
    if (done == 1) cancel = true;  // Ctrl-C while the second section is read
  };
  const SummaryResult r = summarize(r_, *id, o);
  EXPECT_GT(r.sections, 1);
  EXPECT_TRUE(r.partial);
  EXPECT_EQ(r.sections_done, 1);
  EXPECT_FALSE(r.summary.empty()) << "the notes of the first section are kept";
  EXPECT_GE(progress_calls, 2);
}

TEST_F(Answer, RandomWeightsAreRefusedUnlessAskedFor) {
  AnswerResources strict = r_;
  strict.allow_random_weights = false;
  try {
    ask(strict, "How long can a prompt be?", quick());
    FAIL() << "a random-weight model answered";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("random weights"), std::string::npos) << e.what();
  }
}

TEST_F(Answer, WithoutAModelTheAnswerIsExtractiveAndSaysSo) {
  AnswerResources none = r_;
  none.model = nullptr;
  none.cache = nullptr;
  const AskResult r = ask(none, "How long can a prompt be?", quick());
  EXPECT_TRUE(r.extractive);
  EXPECT_FALSE(r.answer.empty());
  EXPECT_FALSE(r.citations.empty());
  ASSERT_FALSE(r.notices.empty());
  EXPECT_NE(r.notices.front().find("extractive"), std::string::npos);
  EXPECT_THROW(ask(r_, "   ", quick()), std::runtime_error) << "an empty question";
}

TEST_F(Answer, AskJsonFollowsTheDocumentedSchema) {
  const std::string cmd = std::string(HD_HYENADESK) + " ask 'How long can a prompt be?' --json --allow-random --max-tokens 4 --store " +
                          (dir_ / "store").string() + " --model " + (dir_ / "model").string() + " --embedder /nonexistent 2>/dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  std::array<char, 4096> buf{};
  while (std::size_t n = fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
  ASSERT_EQ(WEXITSTATUS(pclose(p)), 0) << out;
  const auto j = nlohmann::json::parse(out);
  for (const char* key : {"question", "answer", "extractive", "model", "sources", "usage", "timing", "whole_documents", "stop", "notices"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  for (const char* key : {"prompt_tokens", "cached_tokens", "new_tokens", "answer_tokens", "cache_tier"}) EXPECT_TRUE(j["usage"].contains(key)) << key;
  for (const char* key : {"seconds_to_first_token", "decode_tokens_per_second", "seconds"}) EXPECT_TRUE(j["timing"].contains(key)) << key;
  EXPECT_TRUE(j["sources"].is_array());
  EXPECT_EQ(j["usage"]["prompt_tokens"].get<int>(), j["usage"]["cached_tokens"].get<int>() + j["usage"]["new_tokens"].get<int>());
}

TEST(Attribution, EachSentenceGoesToThePassageThatSupportsItAndTitlesAreNeverQuoted) {
  HD_REQUIRE_EMBEDDER();
  const auto embedder = TextEmbedder::open(test::embedder_dir());
  PackedContext context;
  PackedDocument doc{1, "GPU Benchmark Report", "/r.pdf", {}, {}};
  doc.passages.push_back({1, 1, "GPU Benchmark Report", "/r.pdf", "", 1, 1,
                          "GPU Benchmark Report\nPrefill of 131072 tokens took 16.3 seconds on an H100.", {}});
  doc.passages.push_back({2, 1, "GPU Benchmark Report", "/r.pdf", "Memory", 2, 2,
                          "Memory\nThe inference cache at 128k tokens is 8 GiB, half of a transformer's KV cache.", {}});
  context.documents.push_back(doc);
  const auto citations = attribute("The cache takes 8 GiB at 128k tokens, half of a transformer's. GPU Benchmark Report.",
                                   context, embedder.get());
  ASSERT_EQ(cited_sources(citations), std::vector<int>{2}) << "the page-2 passage supports the answer; the title supports nothing";
  EXPECT_EQ(citations.front().quote, "The inference cache at 128k tokens is 8 GiB, half of a transformer's KV cache.");
  EXPECT_GE(citations.front().cosine, 0.55);
  EXPECT_TRUE(attribute("Bananas are yellow and grow in bunches.", context, embedder.get()).empty())
      << "an unsupported sentence cites nothing";
}

}  // namespace
}  // namespace hd
