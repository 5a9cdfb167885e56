#pragma once
// The StripedHyena tokenizer on SentencePiece. Built from the `tokenizer.json` that the
// HF model repos ship (BPE, byte fallback) or from a SentencePiece `tokenizer.model`;
// token ids equal those of the HF `tokenizers` library on the same text.
//
// Special tokens are handled on purpose: text is always encoded as text, so a document
// containing the literal string "</s>" cannot end the model's turn; <s> is added by
// encode(), and </s> only by callers that mean it.
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace hd {

class TokenizerError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Tokenizer {
 public:
  // tokenizer.json (HF format) or a SentencePiece .model file, chosen by content.
  static std::unique_ptr<Tokenizer> from_file(const std::filesystem::path& path);
  ~Tokenizer();
  Tokenizer(const Tokenizer&) = delete;
  Tokenizer& operator=(const Tokenizer&) = delete;

  // Invalid UTF-8 in `text` is replaced by U+FFFD (one per run of invalid bytes)
  // before encoding, so every input gives ids; `replaced`, when given, counts them.
  std::vector<int> encode(std::string_view text, bool add_bos = true, int* replaced = nullptr) const;
  // Ids to text; control tokens (<s>, </s>) produce nothing, byte pieces are joined into UTF-8.
  std::string decode(const std::vector<int>& ids) const;
  // The piece of one id as stored (e.g. "▁the", "<0x0A>").
  std::string piece(int id) const;

  int vocab_size() const;
  int bos_id() const { return bos_id_; }
  int eos_id() const { return eos_id_; }
  int unk_id() const { return unk_id_; }
  bool is_control(int id) const;

 private:
  Tokenizer();
  std::unique_ptr<sentencepiece::SentencePieceProcessor> sp_;
  int bos_id_ = 1, eos_id_ = 2, unk_id_ = 0;
  std::filesystem::path path_;
};

// Turns a stream of ids into text as it arrives: holds back bytes of an unfinished UTF-8
// character (byte-fallback pieces) and the leading space of the first word.
class StreamingDecoder {
 public:
  explicit StreamingDecoder(const Tokenizer& tokenizer) : tokenizer_(tokenizer) {}
  // Text that became final with this token (possibly empty).
  std::string push(int id);
  // What is left at the end (incomplete UTF-8 becomes U+FFFD).
  std::string finish();

 private:
  const Tokenizer& tokenizer_;
  std::vector<int> ids_;
  std::size_t emitted_ = 0;  // bytes of decode(ids_) already returned
};

// Replaces invalid UTF-8 with U+FFFD; returns how many replacements were made.
std::size_t sanitize_utf8(std::string_view in, std::string& out);

// Builds the serialized SentencePiece ModelProto equivalent to an HF tokenizer.json
// (exposed for tests and for `hyenadesk` to write a tokenizer.model).
std::string sentencepiece_proto_from_hf_json(const std::string& json_text, const std::string& source);

}  // namespace hd
