#pragma once
// Tokenizers, chosen by the model folder's file:
// - SentencePiece BPE with byte fallback (StripedHyena's own): built from the `tokenizer.json`
//   the HF model repos ship, or a SentencePiece `tokenizer.model`;
// - byte-level BPE (GPT-2 style: Llama-3/SmolLM/Qwen2 families) from a `tokenizer.json` whose
//   pre-tokenizer is ByteLevel, with the model's split rules (PCRE2) and normalizer (ICU NFC).
// Either way, ids equal those of the HF `tokenizers` library on the same text.
//
// Special tokens are handled on purpose: text is always encoded as text, so a document
// containing the literal string "</s>" or "<|im_end|>" cannot end the model's turn; chat
// templates ask for special tokens by name (special_id). <s> is added by encode() only where the
// model uses one, and end-of-text tokens only by callers that mean it.
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace hd {

class TokenizerError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Tokenizer {
 public:
  // tokenizer.json (HF format) or a SentencePiece .model file, chosen by content. A
  // tokenizer_config.json beside a byte-level tokenizer.json names its end-of-text token.
  static std::unique_ptr<Tokenizer> from_file(const std::filesystem::path& path);
  virtual ~Tokenizer();
  Tokenizer(const Tokenizer&) = delete;
  Tokenizer& operator=(const Tokenizer&) = delete;

  // Invalid UTF-8 in `text` is replaced by U+FFFD (one per run of invalid bytes)
  // before encoding, so every input gives ids; `replaced`, when given, counts them.
  // `add_bos` adds the start token where the model has one in use (StripedHyena's <s>; the
  // byte-level models here use none).
  virtual std::vector<int> encode(std::string_view text, bool add_bos = true, int* replaced = nullptr) const = 0;
  // Ids to text; control tokens (<s>, </s>, <|im_end|>) produce nothing, bytes are joined into
  // UTF-8 (an incomplete character at the end becomes U+FFFD).
  virtual std::string decode(const std::vector<int>& ids) const = 0;
  // The piece of one id as stored (e.g. "▁the", "<0x0A>", "Ġthe").
  virtual std::string piece(int id) const = 0;
  virtual int vocab_size() const = 0;
  virtual bool is_control(int id) const = 0;
  // The id of a special (added) token given by its text, e.g. "<|im_start|>"; -1 when none.
  virtual int special_id(std::string_view text) const = 0;
  // "SentencePiece BPE" or "byte-level BPE (qwen2)", for listings.
  virtual std::string kind() const = 0;

  int bos_id() const { return bos_id_; }  // -1: the model uses none
  int eos_id() const { return eos_id_; }
  int unk_id() const { return unk_id_; }
  // Tokens after which the model's text is over: eos, and the end-of-turn / end-of-text tokens.
  bool ends_text(int id) const;

 protected:
  Tokenizer() = default;
  int bos_id_ = 1, eos_id_ = 2, unk_id_ = 0;
  std::vector<int> extra_end_ids_;
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
