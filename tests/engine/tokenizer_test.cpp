// The tokenizer against golden ids from the HF `tokenizers` library
// (scripts/fixtures/make_tokenizer_golden.py), and its handling of awkward input.
#include <gtest/gtest.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "hd/engine/tokenizer.h"
#include "support/temp_dir.h"

namespace hd {
namespace {

const std::filesystem::path kTokenizerJson =
    std::filesystem::path(HD_SOURCE_DIR) / "tests/engine/fixtures/stripedhyena-tokenizer/tokenizer.json";
const std::filesystem::path kGolden = std::filesystem::path(HD_SOURCE_DIR) / "tests/engine/data/tokenizer_golden.json";

class TokenizerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (std::filesystem::exists(kTokenizerJson)) tokenizer_ = Tokenizer::from_file(kTokenizerJson).release();
  }
  static void TearDownTestSuite() {
    delete tokenizer_;
    tokenizer_ = nullptr;
  }
  void SetUp() override {
    // A fixture of the repository: missing, the test fails.
    ASSERT_NE(tokenizer_, nullptr) << "StripedHyena tokenizer.json not found at " << kTokenizerJson;
  }
  static Tokenizer* tokenizer_;
};
Tokenizer* TokenizerTest::tokenizer_ = nullptr;

TEST_F(TokenizerTest, IdsEqualHfTokenizersOnEveryGoldenText) {
  nlohmann::json golden = nlohmann::json::parse(std::ifstream(kGolden));
  ASSERT_GE(golden["cases"].size(), 200u);
  int mismatches = 0;
  for (const auto& c : golden["cases"]) {
    const std::string text = c["text"];
    std::vector<int> want = c["ids"].get<std::vector<int>>();
    std::vector<int> got = tokenizer_->encode(text);
    if (got != want && ++mismatches <= 5) {
      ADD_FAILURE() << "text " << nlohmann::json(text).dump() << "\n got  " << nlohmann::json(got).dump()
                    << "\n want " << nlohmann::json(want).dump();
    }
  }
  EXPECT_EQ(mismatches, 0) << "of " << golden["cases"].size() << " texts";
}

TEST_F(TokenizerTest, SpecialIdsAndVocabulary) {
  EXPECT_EQ(tokenizer_->vocab_size(), 32000);
  EXPECT_EQ(tokenizer_->unk_id(), 0);
  EXPECT_EQ(tokenizer_->bos_id(), 1);
  EXPECT_EQ(tokenizer_->eos_id(), 2);
  EXPECT_TRUE(tokenizer_->is_control(1));
  EXPECT_EQ(tokenizer_->piece(13), "<0x0A>");
  EXPECT_EQ(tokenizer_->encode("", true), std::vector<int>{1});
  EXPECT_TRUE(tokenizer_->encode("", false).empty());
}

TEST_F(TokenizerTest, DecodeInvertsEncodeIncludingByteFallback) {
  for (std::string text : {"Hello, world!", "  two leading spaces", "line\n\nbreaks\ttab", "emoji 👩‍👩‍👧‍👦 🇯🇵",
                           "rare \U0001fae0 private \ue000", "Привет 日本語"}) {
    EXPECT_EQ(tokenizer_->decode(tokenizer_->encode(text)), text);
  }
}

TEST_F(TokenizerTest, LiteralSpecialTokenTextStaysText) {
  std::vector<int> ids = tokenizer_->encode("the end</s><s> start", false);
  for (int id : ids) EXPECT_FALSE(tokenizer_->is_control(id)) << "control id " << id << " produced from document text";
  EXPECT_EQ(tokenizer_->decode(ids), "the end</s><s> start");
}

TEST_F(TokenizerTest, InvalidUtf8IsReplacedAndCounted) {
  int replaced = -1;
  std::vector<int> ids = tokenizer_->encode(std::string("ok \xff\xfe bad \xc3 end \xed\xa0\x80"), true, &replaced);
  EXPECT_EQ(replaced, 3);
  EXPECT_EQ(tokenizer_->decode(ids), "ok \xef\xbf\xbd bad \xef\xbf\xbd end \xef\xbf\xbd");
}

TEST_F(TokenizerTest, OutOfRangeIdIsAnErrorNotACrash) {
  EXPECT_THROW(tokenizer_->decode({1, 32000}), TokenizerError);
  EXPECT_THROW(tokenizer_->decode({-1}), TokenizerError);
  EXPECT_THROW(tokenizer_->piece(40000), TokenizerError);
}

TEST_F(TokenizerTest, StreamingDecoderEmitsWholeCharactersOnly) {
  const std::string text = "Grüße 👍 done";
  std::vector<int> ids = tokenizer_->encode(text, false);
  StreamingDecoder stream(*tokenizer_);
  std::string out;
  for (int id : ids) {
    std::string piece = stream.push(id);
    // Every chunk is valid UTF-8 on its own: no half characters reach the screen.
    std::string clean;
    EXPECT_EQ(sanitize_utf8(piece, clean), 0u) << "chunk of " << piece.size() << " bytes is not valid UTF-8";
    out += piece;
  }
  out += stream.finish();
  EXPECT_EQ(out, text);
}

TEST(Tokenizer, RefusesMalformedFilesNamingThem) {
  test::TempDir d;
  auto error_of = [&](const std::string& name, const std::string& bytes) {
    test::write_file(d / name, bytes);
    try {
      Tokenizer::from_file(d / name);
    } catch (const TokenizerError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(error_of("empty.json", "").find("empty.json: tokenizer file is empty"), std::string::npos);
  EXPECT_NE(error_of("cut.json", "{\"model\": {\"type\": \"BPE\", \"vocab\": {").find("not valid JSON"),
            std::string::npos);
  EXPECT_NE(error_of("wp.json", R"({"model": {"type": "WordPiece", "vocab": {}}})").find("is not BPE"),
            std::string::npos);
  EXPECT_NE(error_of("gap.json", R"({"model": {"type": "BPE", "byte_fallback": true, "vocab": {"a": 0, "b": 5}, "merges": []}})")
                .find("vocab ids are not"),
            std::string::npos);
  EXPECT_NE(error_of("junk.model", "\x01\x02garbage").find("not a usable tokenizer"), std::string::npos);
  EXPECT_THROW(Tokenizer::from_file(d / "missing.json"), TokenizerError);
}

TEST(Utf8, SanitizeKeepsValidTextAndReplacesEachInvalidRun) {
  std::string out;
  EXPECT_EQ(sanitize_utf8("plain ascii é 日 😀", out), 0u);
  EXPECT_EQ(out, "plain ascii é 日 😀");
  EXPECT_EQ(sanitize_utf8(std::string("\xc0\xaf"), out), 1u) << "overlong encoding";
  EXPECT_EQ(sanitize_utf8(std::string("a\xf4\x90\x80\x80z"), out), 1u) << "past U+10FFFF";
  EXPECT_EQ(out, "a\xef\xbf\xbdz");
}

}  // namespace
}  // namespace hd

namespace hd {
namespace {

TEST_F(TokenizerTest, SentencePieceModelFileGivesTheSameIds) {
  test::TempDir d;
  std::ifstream in(kTokenizerJson, std::ios::binary);
  std::string json((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  test::write_file(d / "tokenizer.model", sentencepiece_proto_from_hf_json(json, kTokenizerJson.string()));
  auto from_model = Tokenizer::from_file(d / "tokenizer.model");
  for (std::string text : {"Hello, world!", "  spaces\tand\nlines", "日本語 😀 Привет"}) {
    EXPECT_EQ(from_model->encode(text), tokenizer_->encode(text)) << text;
  }
}

}  // namespace
}  // namespace hd
