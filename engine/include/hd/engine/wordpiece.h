#pragma once
// BERT's WordPiece tokenizer as Hugging Face `tokenizers` runs it for all-MiniLM-L6-v2
// (BertNormalizer: clean text, space out CJK ideographs, strip accents, lowercase;
// BertPreTokenizer: split on whitespace and isolate punctuation; WordPiece with "##"
// continuations; [CLS] ... [SEP]). Unicode properties and NFD come from ICU.
#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace hd {

class EmbedderError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class WordPieceTokenizer {
 public:
  // Reads vocab.txt (one token per line, id = line number). Throws EmbedderError naming the file
  // when it is missing, empty, or lacks [CLS], [SEP] or [UNK].
  static WordPieceTokenizer from_vocab_file(const std::filesystem::path& vocab_txt);

  // Ids of [CLS] + pieces + [SEP], at most max_tokens in all (pieces past it are dropped, as
  // sentence-transformers truncates). Invalid UTF-8 is read with U+FFFD, which the normalizer drops.
  std::vector<std::int32_t> encode(std::string_view utf8, std::size_t max_tokens) const;

  // The pieces alone, without special tokens or truncation (for tests and diagnostics).
  std::vector<std::string> pieces(std::string_view utf8) const;

  std::size_t vocab_size() const { return id_of_.size(); }

 private:
  std::unordered_map<std::string, std::int32_t> id_of_;
  std::int32_t cls_ = 0, sep_ = 0, unk_ = 0;
  static constexpr std::size_t kMaxCharsPerWord = 100;
};

}  // namespace hd
