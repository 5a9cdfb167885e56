#include "hd/engine/wordpiece.h"

#include <unicode/locid.h>
#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>

#include <fstream>

namespace hd {
namespace {

bool is_control(UChar32 c) {
  if (c == '\t' || c == '\n' || c == '\r') return false;
  const int8_t t = u_charType(c);
  return t == U_CONTROL_CHAR || t == U_FORMAT_CHAR || t == U_SURROGATE || t == U_PRIVATE_USE_CHAR ||
         t == U_UNASSIGNED;
}

bool is_whitespace(UChar32 c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || u_isUWhiteSpace(c); }

bool is_punctuation(UChar32 c) {
  if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126)) return true;
  return u_ispunct(c);
}

bool is_cjk(UChar32 c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
         (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B820 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

// BertNormalizer in its order: clean text, CJK spacing, NFD without nonspacing marks, lowercase.
icu::UnicodeString normalize(std::string_view utf8) {
  const icu::UnicodeString in = icu::UnicodeString::fromUTF8(icu::StringPiece(utf8.data(), static_cast<int32_t>(utf8.size())));
  icu::UnicodeString cleaned;
  for (int32_t i = 0; i < in.length();) {
    const UChar32 c = in.char32At(i);
    i += U16_LENGTH(c);
    if (c == 0 || c == 0xFFFD || is_control(c)) continue;
    if (is_whitespace(c)) {
      cleaned.append(static_cast<UChar>(' '));
    } else if (is_cjk(c)) {
      cleaned.append(static_cast<UChar>(' ')).append(c).append(static_cast<UChar>(' '));
    } else {
      cleaned.append(c);
    }
  }
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* nfd = icu::Normalizer2::getNFDInstance(status);
  if (U_FAILURE(status)) throw EmbedderError(std::string("WordPiece: ICU has no NFD normalizer: ") + u_errorName(status));
  const icu::UnicodeString decomposed = nfd->normalize(cleaned, status);
  if (U_FAILURE(status)) throw EmbedderError(std::string("WordPiece: NFD failed: ") + u_errorName(status));
  icu::UnicodeString stripped;
  for (int32_t i = 0; i < decomposed.length();) {
    const UChar32 c = decomposed.char32At(i);
    i += U16_LENGTH(c);
    if (u_charType(c) != U_NON_SPACING_MARK) stripped.append(c);
  }
  return stripped.toLower(icu::Locale::getRoot());  // Unicode's default full case mapping
}

// BertPreTokenizer: words split on whitespace, each punctuation character a word of its own.
std::vector<std::string> split_words(const icu::UnicodeString& text) {
  std::vector<std::string> words;
  icu::UnicodeString word;
  auto flush = [&] {
    if (word.isEmpty()) return;
    std::string s;
    word.toUTF8String(s);
    words.push_back(std::move(s));
    word.remove();
  };
  for (int32_t i = 0; i < text.length();) {
    const UChar32 c = text.char32At(i);
    i += U16_LENGTH(c);
    if (is_whitespace(c)) {
      flush();
    } else if (is_punctuation(c)) {
      flush();
      word.append(c);
      flush();
    } else {
      word.append(c);
    }
  }
  flush();
  return words;
}

std::size_t utf8_chars(const std::string& s) {
  std::size_t n = 0;
  for (unsigned char ch : s) n += (ch & 0xC0) != 0x80;
  return n;
}

}  // namespace

WordPieceTokenizer WordPieceTokenizer::from_vocab_file(const std::filesystem::path& vocab_txt) {
  std::ifstream in(vocab_txt);
  if (!in) throw EmbedderError(vocab_txt.string() + ": cannot open the WordPiece vocabulary");
  WordPieceTokenizer t;
  std::string line;
  std::int32_t id = 0;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    t.id_of_.emplace(line, id++);
  }
  if (t.id_of_.empty()) throw EmbedderError(vocab_txt.string() + ": the WordPiece vocabulary is empty");
  for (const auto& [name, slot] : {std::pair{"[CLS]", &t.cls_}, {"[SEP]", &t.sep_}, {"[UNK]", &t.unk_}}) {
    const auto it = t.id_of_.find(name);
    if (it == t.id_of_.end()) throw EmbedderError(vocab_txt.string() + ": the vocabulary has no " + name + " token");
    *slot = it->second;
  }
  return t;
}

std::vector<std::string> WordPieceTokenizer::pieces(std::string_view utf8) const {
  std::vector<std::string> out;
  for (const std::string& word : split_words(normalize(utf8))) {
    if (utf8_chars(word) > kMaxCharsPerWord) {
      out.emplace_back("[UNK]");
      continue;
    }
    // Greedy longest match first; one unmatched remainder makes the whole word [UNK].
    std::vector<std::string> word_pieces;
    std::size_t start = 0;
    bool bad = false;
    while (start < word.size()) {
      std::size_t end = word.size();
      std::string found;
      while (end > start) {
        std::string candidate = (start > 0 ? "##" : "") + word.substr(start, end - start);
        if (id_of_.count(candidate)) {
          found = std::move(candidate);
          break;
        }
        do --end;  // step back one whole UTF-8 character
        while (end > start && (static_cast<unsigned char>(word[end]) & 0xC0) == 0x80);
      }
      if (found.empty()) {
        bad = true;
        break;
      }
      word_pieces.push_back(std::move(found));
      start = end;
    }
    if (bad) out.emplace_back("[UNK]");
    else out.insert(out.end(), word_pieces.begin(), word_pieces.end());
  }
  return out;
}

std::vector<std::int32_t> WordPieceTokenizer::encode(std::string_view utf8, std::size_t max_tokens) const {
  if (max_tokens < 2) throw EmbedderError("WordPiece: max_tokens must leave room for [CLS] and [SEP]");
  std::vector<std::int32_t> ids{cls_};
  for (const std::string& piece : pieces(utf8)) {
    if (ids.size() + 1 >= max_tokens) break;
    ids.push_back(id_of_.at(piece));
  }
  ids.push_back(sep_);
  return ids;
}

}  // namespace hd
