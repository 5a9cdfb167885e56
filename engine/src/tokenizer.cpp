#include "hd/engine/tokenizer.h"

#include <sentencepiece_processor.h>

#include <fstream>
#include <sstream>

namespace hd {

Tokenizer::Tokenizer() : sp_(std::make_unique<sentencepiece::SentencePieceProcessor>()) {}
Tokenizer::~Tokenizer() = default;

std::unique_ptr<Tokenizer> Tokenizer::from_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw TokenizerError(path.string() + ": cannot open tokenizer");
  std::stringstream buf;
  buf << in.rdbuf();
  const std::string bytes = buf.str();
  if (bytes.empty()) throw TokenizerError(path.string() + ": tokenizer file is empty");

  auto t = std::unique_ptr<Tokenizer>(new Tokenizer());
  t->path_ = path;
  std::size_t first = bytes.find_first_not_of(" \t\r\n");
  const bool looks_json = first != std::string::npos && bytes[first] == '{';
  const std::string proto = looks_json ? sentencepiece_proto_from_hf_json(bytes, path.string()) : bytes;
  auto status = t->sp_->LoadFromSerializedProto(proto);
  if (!status.ok()) {
    throw TokenizerError(path.string() + ": not a usable tokenizer (" + std::string(status.message()) + ")");
  }
  t->unk_id_ = t->sp_->unk_id();
  t->bos_id_ = t->sp_->bos_id();
  t->eos_id_ = t->sp_->eos_id();
  if (t->bos_id_ < 0 || t->eos_id_ < 0) throw TokenizerError(path.string() + ": tokenizer has no <s> or </s>");
  return t;
}

std::vector<int> Tokenizer::encode(std::string_view text, bool add_bos, int* replaced) const {
  std::string clean;
  std::size_t n = sanitize_utf8(text, clean);
  if (replaced) *replaced = static_cast<int>(n);
  std::vector<int> ids;
  if (add_bos) ids.push_back(bos_id_);
  if (clean.empty()) return ids;  // HF gives just <s> for empty text (no lone dummy-prefix piece)
  std::vector<int> body;
  auto status = sp_->Encode(clean, &body);
  if (!status.ok()) throw TokenizerError(path_.string() + ": encode failed: " + std::string(status.message()));
  ids.insert(ids.end(), body.begin(), body.end());
  return ids;
}

std::string Tokenizer::decode(const std::vector<int>& ids) const {
  for (int id : ids) {
    if (id < 0 || id >= vocab_size()) {
      throw TokenizerError("token id " + std::to_string(id) + " is outside the vocabulary (0.." +
                           std::to_string(vocab_size() - 1) + ")");
    }
  }
  std::string text;
  auto status = sp_->Decode(ids, &text);
  if (!status.ok()) throw TokenizerError(path_.string() + ": decode failed: " + std::string(status.message()));
  return text;
}

std::string Tokenizer::piece(int id) const {
  if (id < 0 || id >= vocab_size()) throw TokenizerError("token id " + std::to_string(id) + " is outside the vocabulary");
  return sp_->IdToPiece(id);
}

int Tokenizer::vocab_size() const { return sp_->GetPieceSize(); }
bool Tokenizer::is_control(int id) const { return sp_->IsControl(id); }

std::string StreamingDecoder::push(int id) {
  ids_.push_back(id);
  std::string text = tokenizer_.decode(ids_);
  // Hold back a trailing U+FFFD: it may be the start of a character whose bytes come next.
  std::size_t stable = text.size();
  const std::string replacement = "\xef\xbf\xbd";
  while (stable >= 3 && text.compare(stable - 3, 3, replacement) == 0) stable -= 3;
  if (stable < emitted_) return "";
  std::string out = text.substr(emitted_, stable - emitted_);
  emitted_ = stable;
  return out;
}

std::string StreamingDecoder::finish() {
  std::string text = ids_.empty() ? "" : tokenizer_.decode(ids_);
  std::string out = emitted_ < text.size() ? text.substr(emitted_) : "";
  ids_.clear();
  emitted_ = 0;
  return out;
}

}  // namespace hd
