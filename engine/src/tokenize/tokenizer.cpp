#include "hd/engine/tokenizer.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "tokenizers.h"

namespace hd {
namespace {

std::string read_all(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

}  // namespace

Tokenizer::~Tokenizer() = default;

bool Tokenizer::ends_text(int id) const {
  return id == eos_id_ || std::find(extra_end_ids_.begin(), extra_end_ids_.end(), id) != extra_end_ids_.end();
}

std::unique_ptr<Tokenizer> Tokenizer::from_file(const std::filesystem::path& path) {
  if (!std::filesystem::exists(path)) throw TokenizerError(path.string() + ": cannot open tokenizer (no such file)");
  const std::string bytes = read_all(path);
  if (bytes.empty()) throw TokenizerError(path.string() + ": tokenizer file is empty or unreadable");
  const std::size_t first = bytes.find_first_not_of(" \t\r\n");
  const bool looks_json = first != std::string::npos && bytes[first] == '{';
  if (!looks_json) return tokenize::make_sentencepiece(bytes, path.string());
  if (tokenize::is_byte_level_json(bytes)) {
    return tokenize::make_byte_level_bpe(bytes, read_all(path.parent_path() / "tokenizer_config.json"), path.string());
  }
  return tokenize::make_sentencepiece(sentencepiece_proto_from_hf_json(bytes, path.string()), path.string());
}

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
