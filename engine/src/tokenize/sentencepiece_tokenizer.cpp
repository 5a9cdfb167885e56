// StripedHyena's tokenizer: SentencePiece BPE with byte fallback.
#include <sentencepiece_processor.h>

#include "tokenizers.h"

namespace hd::tokenize {
namespace {

class SentencePieceTokenizer final : public Tokenizer {
 public:
  SentencePieceTokenizer(const std::string& proto, const std::string& source) : source_(source) {
    auto status = sp_.LoadFromSerializedProto(proto);
    if (!status.ok()) throw TokenizerError(source + ": not a usable tokenizer (" + std::string(status.message()) + ")");
    unk_id_ = sp_.unk_id();
    bos_id_ = sp_.bos_id();
    eos_id_ = sp_.eos_id();
    if (bos_id_ < 0 || eos_id_ < 0) throw TokenizerError(source + ": tokenizer has no <s> or </s>");
  }

  std::vector<int> encode(std::string_view text, bool add_bos, int* replaced) const override {
    std::string clean;
    std::size_t n = sanitize_utf8(text, clean);
    if (replaced) *replaced = static_cast<int>(n);
    std::vector<int> ids;
    if (add_bos) ids.push_back(bos_id_);
    if (clean.empty()) return ids;  // HF gives just <s> for empty text (no lone dummy-prefix piece)
    std::vector<int> body;
    auto status = sp_.Encode(clean, &body);
    if (!status.ok()) throw TokenizerError(source_ + ": encode failed: " + std::string(status.message()));
    ids.insert(ids.end(), body.begin(), body.end());
    return ids;
  }

  std::string decode(const std::vector<int>& ids) const override {
    for (int id : ids) {
      if (id < 0 || id >= vocab_size()) {
        throw TokenizerError("token id " + std::to_string(id) + " is outside the vocabulary (0.." +
                             std::to_string(vocab_size() - 1) + ")");
      }
    }
    std::string text;
    auto status = sp_.Decode(ids, &text);
    if (!status.ok()) throw TokenizerError(source_ + ": decode failed: " + std::string(status.message()));
    return text;
  }

  std::string piece(int id) const override {
    if (id < 0 || id >= vocab_size()) throw TokenizerError("token id " + std::to_string(id) + " is outside the vocabulary");
    return sp_.IdToPiece(id);
  }
  int vocab_size() const override { return sp_.GetPieceSize(); }
  bool is_control(int id) const override { return sp_.IsControl(id); }
  int special_id(std::string_view text) const override {
    const int id = sp_.PieceToId(std::string(text));
    return id >= 0 && id != unk_id_ && sp_.IsControl(id) ? id : -1;
  }
  std::string kind() const override { return "SentencePiece BPE"; }

 private:
  sentencepiece::SentencePieceProcessor sp_;
  std::string source_;
};

}  // namespace

std::unique_ptr<Tokenizer> make_sentencepiece(const std::string& proto, const std::string& source) {
  return std::make_unique<SentencePieceTokenizer>(proto, source);
}

}  // namespace hd::tokenize
