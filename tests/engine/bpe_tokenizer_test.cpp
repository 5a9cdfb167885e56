// Byte-level BPE tokenizers (SmolLM2's and Qwen2's, as scripts/models/import_gguf.py writes
// them) against golden ids from the HF `tokenizers` library
// (scripts/fixtures/make_bpe_tokenizer_golden.py), plus decoding, streaming and special tokens.
#include <gtest/gtest.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "hd/engine/tokenizer.h"

namespace hd {
namespace {

const std::filesystem::path kFixtures = std::filesystem::path(HD_SOURCE_DIR) / "tests/engine/fixtures";

class BpeTokenizer : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    const auto file = kFixtures / GetParam() / "tokenizer.json";
    ASSERT_TRUE(std::filesystem::exists(file)) << "fixture missing: " << file;
    tokenizer_ = Tokenizer::from_file(file);
    golden_ = nlohmann::json::parse(std::ifstream(kFixtures / GetParam() / "golden.json"));
  }
  std::unique_ptr<Tokenizer> tokenizer_;
  nlohmann::json golden_;
};

TEST_P(BpeTokenizer, IdsEqualHfTokenizersOnEveryGoldenText) {
  ASSERT_GE(golden_["cases"].size(), 250u);
  int mismatches = 0;
  for (const auto& c : golden_["cases"]) {
    const std::string text = c["text"];
    const std::vector<int> want = c["ids"].get<std::vector<int>>();
    const std::vector<int> got = tokenizer_->encode(text, false);
    if (got != want && ++mismatches <= 5) {
      ADD_FAILURE() << "text " << nlohmann::json(text).dump() << "\n got  " << nlohmann::json(got).dump()
                    << "\n want " << nlohmann::json(want).dump();
    }
  }
  EXPECT_EQ(mismatches, 0) << "of " << golden_["cases"].size() << " texts";
}

TEST_P(BpeTokenizer, DecodeGivesBackTheText) {
  int exact = 0;
  for (const auto& c : golden_["cases"]) {
    const std::string text = c["text"];
    const std::vector<int> ids = c["ids"].get<std::vector<int>>();
    const std::string decoded = tokenizer_->decode(ids);
    exact += decoded == text;
    // NFC (Qwen) and bytes the vocabulary lacks (SmolLM: some rare 4-byte characters, decoded as
    // U+FFFD) change a few texts on purpose; otherwise the decoded text encodes to the same ids.
    if (decoded.find("\xEF\xBF\xBD") == std::string::npos) {
      EXPECT_EQ(tokenizer_->encode(decoded, false), ids) << nlohmann::json(text).dump();
    }
  }
  EXPECT_GE(exact, static_cast<int>(golden_["cases"].size()) - 10);
}

TEST_P(BpeTokenizer, SpecialTokensAreTextInDocumentsAndIdsInTemplates) {
  const int im_end = tokenizer_->special_id("<|im_end|>");
  ASSERT_GE(im_end, 0);
  EXPECT_TRUE(tokenizer_->is_control(im_end));
  EXPECT_TRUE(tokenizer_->ends_text(im_end));
  const std::vector<int> ids = tokenizer_->encode("the report says <|im_end|> here", false);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), im_end), 0) << "document text must not end the turn";
  EXPECT_EQ(tokenizer_->decode({im_end}), "") << "control tokens print nothing";
  EXPECT_EQ(tokenizer_->bos_id(), -1) << "these models add no start token";
  EXPECT_EQ(tokenizer_->encode("hi", true), tokenizer_->encode("hi", false));
}

TEST_P(BpeTokenizer, StreamingDecodeHoldsBackHalfCharacters) {
  const std::string text = "Emoji \xF0\x9F\x91\x8D and \xE4\xB8\xAD\xE6\x96\x87 done";
  const std::vector<int> ids = tokenizer_->encode(text, false);
  StreamingDecoder stream(*tokenizer_);
  std::string out;
  for (int id : ids) {
    const std::string piece = stream.push(id);
    EXPECT_EQ(piece.find("\xEF\xBF\xBD"), std::string::npos) << "a half character was emitted";
    out += piece;
  }
  out += stream.finish();
  EXPECT_EQ(out, text);
}

TEST_P(BpeTokenizer, InvalidUtf8IsReplacedAndCounted) {
  int replaced = 0;
  const std::vector<int> ids = tokenizer_->encode("ok \xff\xfe bytes", false, &replaced);
  EXPECT_EQ(replaced, 1);
  EXPECT_EQ(tokenizer_->decode(ids), "ok \xEF\xBF\xBD bytes");
}

INSTANTIATE_TEST_SUITE_P(Models, BpeTokenizer, ::testing::Values("smollm2-tokenizer", "qwen2-tokenizer"));

TEST(BpeTokenizerRules, SmolLmSplitsDigitsOneByOneAndQwenNormalizesToNfc) {
  auto smol = Tokenizer::from_file(kFixtures / "smollm2-tokenizer/tokenizer.json");
  const std::vector<int> digits = smol->encode("  2024", false);
  EXPECT_GE(digits.size(), 4u) << "each digit is its own piece";
  auto qwen = Tokenizer::from_file(kFixtures / "qwen2-tokenizer/tokenizer.json");
  EXPECT_EQ(qwen->encode("caf\xC3\xA9", false), qwen->encode("cafe\xCC\x81", false)) << "composed == decomposed";
  EXPECT_EQ(qwen->kind(), "byte-level BPE (qwen2), NFC");
  EXPECT_EQ(smol->kind(), "byte-level BPE (smollm)");
}

TEST(BpeTokenizerRules, BrokenFilesAreRefusedByName) {
  const auto dir = std::filesystem::temp_directory_path() / "hd-bpe-broken";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "tokenizer.json") << R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []},
    "pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "Metaspace"}, {"type": "ByteLevel"}]}})";
  try {
    Tokenizer::from_file(dir / "tokenizer.json");
    FAIL() << "an unsupported pre-tokenizer was accepted";
  } catch (const TokenizerError& e) {
    EXPECT_NE(std::string(e.what()).find("Metaspace"), std::string::npos) << e.what();
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace hd
