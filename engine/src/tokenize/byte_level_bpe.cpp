// Byte-level BPE (GPT-2's scheme, as SmolLM and Qwen2 use it): text -> pre-tokenizer pieces ->
// each piece's bytes mapped to printable characters -> merges applied by rank -> vocabulary ids.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <limits>
#include <unordered_map>

#include "pre_tokenizer.h"
#include "tokenizers.h"

namespace hd::tokenize {
namespace {

using nlohmann::json;

void append_utf8(std::string& out, unsigned cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// GPT-2's bytes_to_unicode: printable bytes stand for themselves, the others for U+0100 onwards.
struct ByteMap {
  std::array<std::string, 256> to_char;
  std::unordered_map<std::string, unsigned char> to_byte;
  ByteMap() {
    unsigned next = 256;
    for (unsigned b = 0; b < 256; ++b) {
      const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174);
      append_utf8(to_char[b], printable ? b : next++);
      to_byte[to_char[b]] = static_cast<unsigned char>(b);
    }
  }
};

const ByteMap& byte_map() {
  static const ByteMap m;
  return m;
}

// Splits a UTF-8 string into its characters.
std::vector<std::string> characters(const std::string& s) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const std::size_t n = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    out.push_back(s.substr(i, n));
    i += n;
  }
  return out;
}

class ByteLevelBpe final : public Tokenizer {
 public:
  ByteLevelBpe(const json& j, const json& config, const std::string& source)
      : source_(source), pre_(j.value("normalizer", json()), j.at("pre_tokenizer"), source) {
    const json& model = j.at("model");
    if (model.value("type", "") != "BPE") throw TokenizerError(source + ": model type is not BPE");
    for (const auto& [piece, id] : model.at("vocab").items()) {
      const int i = id.get<int>();
      if (i < 0) throw TokenizerError(source + ": negative id in the vocabulary");
      if (static_cast<std::size_t>(i) >= pieces_.size()) pieces_.resize(static_cast<std::size_t>(i) + 1);
      pieces_[static_cast<std::size_t>(i)] = piece;
      vocab_[piece] = i;
    }
    int rank = 0;
    for (const json& m : model.at("merges")) {
      // "left right" (older files) or ["left", "right"]
      std::string key;
      if (m.is_string()) key = m.get<std::string>();
      else key = m.at(0).get<std::string>() + " " + m.at(1).get<std::string>();
      if (key.find(' ') == std::string::npos) throw TokenizerError(source + ": merge " + key + " is not a pair");
      ranks_.emplace(std::move(key), rank++);
    }
    if (j.contains("added_tokens")) {
      for (const json& t : j.at("added_tokens")) {
        const int id = t.at("id").get<int>();
        const std::string content = t.at("content").get<std::string>();
        if (static_cast<std::size_t>(id) >= pieces_.size()) pieces_.resize(static_cast<std::size_t>(id) + 1);
        pieces_[static_cast<std::size_t>(id)] = content;
        added_[content] = id;
        if (t.value("special", false)) special_.push_back(id);
      }
    }
    pre_tokenizer_name_ = config.contains("hyenadesk") ? config["hyenadesk"].value("pre_tokenizer", "") : "";
    auto id_of = [&](const char* key) {
      if (!config.contains(key) || !config.at(key).is_string()) return -1;
      auto it = added_.find(config.at(key).get<std::string>());
      return it == added_.end() ? -1 : it->second;
    };
    unk_id_ = -1;
    bos_id_ = config.value("add_bos_token", false) ? id_of("bos_token") : -1;
    eos_id_ = id_of("eos_token");
    for (const char* end : {"<|endoftext|>", "<|im_end|>", "<|eot_id|>", "<|end_of_text|>"}) {
      if (auto it = added_.find(end); it != added_.end() && it->second != eos_id_) extra_end_ids_.push_back(it->second);
    }
    if (eos_id_ < 0 && extra_end_ids_.empty()) {
      throw TokenizerError(source + ": no end-of-text token (tokenizer_config.json eos_token, <|endoftext|> or <|im_end|>)");
    }
  }

  std::vector<int> encode(std::string_view text, bool add_bos, int* replaced) const override {
    std::string clean;
    const std::size_t n = sanitize_utf8(text, clean);
    if (replaced) *replaced = static_cast<int>(n);
    std::vector<int> ids;
    if (add_bos && bos_id_ >= 0) ids.push_back(bos_id_);
    const ByteMap& bm = byte_map();
    for (const std::string& piece : pre_.split(clean)) {
      std::string mapped;
      for (unsigned char b : piece) mapped += bm.to_char[b];
      merge(mapped, ids);
    }
    return ids;
  }

  std::string decode(const std::vector<int>& ids) const override {
    const ByteMap& bm = byte_map();
    std::string bytes;
    for (int id : ids) {
      if (id < 0 || static_cast<std::size_t>(id) >= pieces_.size()) {
        throw TokenizerError("token id " + std::to_string(id) + " is outside the vocabulary (0.." +
                             std::to_string(pieces_.size() - 1) + ")");
      }
      const std::string& p = pieces_[static_cast<std::size_t>(id)];
      if (added_.count(p) && added_.at(p) == id) {
        if (!is_control(id)) bytes += p;  // a user-defined token stands for its own text
        continue;
      }
      for (const std::string& c : characters(p)) {
        auto it = bm.to_byte.find(c);
        if (it != bm.to_byte.end()) bytes += static_cast<char>(it->second);
        else bytes += c;  // not a byte-level character: keep it as written
      }
    }
    std::string text;
    sanitize_utf8(bytes, text);
    return text;
  }

  std::string piece(int id) const override {
    if (id < 0 || static_cast<std::size_t>(id) >= pieces_.size()) {
      throw TokenizerError("token id " + std::to_string(id) + " is outside the vocabulary");
    }
    return pieces_[static_cast<std::size_t>(id)];
  }
  int vocab_size() const override { return static_cast<int>(pieces_.size()); }
  bool is_control(int id) const override { return std::find(special_.begin(), special_.end(), id) != special_.end(); }
  int special_id(std::string_view text) const override {
    auto it = added_.find(std::string(text));
    return it == added_.end() ? -1 : it->second;
  }
  std::string kind() const override {
    return "byte-level BPE" + (pre_tokenizer_name_.empty() ? std::string() : " (" + pre_tokenizer_name_ + ")") +
           (pre_.normalization() == "NFC" ? ", NFC" : "");
  }

 private:
  // BPE on one mapped piece: repeatedly merge the adjacent pair of lowest rank (leftmost first),
  // then look the symbols up.
  void merge(const std::string& mapped, std::vector<int>& ids) const {
    std::vector<std::string> symbols = characters(mapped);
    std::string key;
    while (symbols.size() > 1) {
      int best = std::numeric_limits<int>::max();
      std::size_t at = 0;
      for (std::size_t i = 0; i + 1 < symbols.size(); ++i) {
        key.assign(symbols[i]).append(" ").append(symbols[i + 1]);
        auto it = ranks_.find(key);
        if (it != ranks_.end() && it->second < best) {
          best = it->second;
          at = i;
        }
      }
      if (best == std::numeric_limits<int>::max()) break;
      symbols[at] += symbols[at + 1];
      symbols.erase(symbols.begin() + static_cast<std::ptrdiff_t>(at) + 1);
    }
    for (const std::string& s : symbols) {
      // A byte the vocabulary has no piece for (SmolLM's lacks the lead bytes of 4-byte
      // characters outside the common planes) is dropped, as HF `tokenizers` does for BPE
      // without an unknown token: the model has no way to see it.
      if (auto it = vocab_.find(s); it != vocab_.end()) ids.push_back(it->second);
    }
  }

  std::string source_;
  PreTokenizer pre_;
  std::vector<std::string> pieces_;
  std::unordered_map<std::string, int> vocab_, ranks_, added_;
  std::vector<int> special_;
  std::string pre_tokenizer_name_;
};

}  // namespace

bool is_byte_level_json(const std::string& json_text) {
  const json j = json::parse(json_text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("pre_tokenizer") || j["pre_tokenizer"].is_null()) return false;
  const json& p = j["pre_tokenizer"];
  if (p.value("type", "") == "ByteLevel") return true;
  if (p.value("type", "") == "Sequence" && p.contains("pretokenizers")) {
    for (const json& s : p["pretokenizers"]) {
      if (s.value("type", "") == "ByteLevel") return true;
    }
  }
  return false;
}

std::unique_ptr<Tokenizer> make_byte_level_bpe(const std::string& json_text, const std::string& config_text,
                                               const std::string& source) {
  const json j = json::parse(json_text, nullptr, false);
  if (j.is_discarded()) throw TokenizerError(source + ": not valid JSON");
  json config = json::object();
  if (!config_text.empty()) {
    config = json::parse(config_text, nullptr, false);
    if (config.is_discarded() || !config.is_object()) {
      throw TokenizerError(source + ": the tokenizer_config.json beside it is not valid JSON");
    }
  }
  try {
    return std::make_unique<ByteLevelBpe>(j, config, source);
  } catch (const json::exception& e) {
    throw TokenizerError(source + ": malformed byte-level tokenizer: " + e.what());
  }
}

}  // namespace hd::tokenize
