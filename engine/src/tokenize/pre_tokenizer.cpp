#include "pre_tokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <unicode/normalizer2.h>
#include <unicode/unistr.h>

#include <nlohmann/json.hpp>

#include "hd/engine/tokenizer.h"

namespace hd::tokenize {

// GPT-2's split rule, which HF's ByteLevel pre-tokenizer applies when use_regex is true.
constexpr const char* kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

class Regex {
 public:
  Regex(const std::string& pattern, const std::string& source) {
    int error = 0;
    PCRE2_SIZE offset = 0;
    code_ = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.c_str()), pattern.size(), PCRE2_UTF | PCRE2_UCP, &error,
                          &offset, nullptr);
    if (!code_) {
      PCRE2_UCHAR message[256];
      pcre2_get_error_message(error, message, sizeof message);
      throw TokenizerError(source + ": pre-tokenizer pattern does not compile at offset " + std::to_string(offset) + ": " +
                           reinterpret_cast<const char*>(message));
    }
    pcre2_jit_compile(code_, PCRE2_JIT_COMPLETE);  // without JIT (unsupported CPU) matching still works, slower
  }
  ~Regex() { pcre2_code_free(code_); }
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // Appends to `out` the pieces of `s`: every match, and every stretch between matches.
  void split_isolated(std::string_view s, std::vector<std::string>& out) const {
    pcre2_match_data* md = pcre2_match_data_create_from_pattern(code_, nullptr);
    std::size_t pos = 0, gap_start = 0;
    while (pos < s.size()) {
      const int rc = pcre2_match(code_, reinterpret_cast<PCRE2_SPTR>(s.data()), s.size(), pos, PCRE2_NO_UTF_CHECK, md, nullptr);
      if (rc < 0) break;  // no more matches (or a resource limit: the rest stays one piece)
      const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
      std::size_t begin = ov[0], end = ov[1];
      if (end == begin) {  // an empty match: step over one character
        pos = begin + 1;
        while (pos < s.size() && (static_cast<unsigned char>(s[pos]) & 0xC0) == 0x80) ++pos;
        continue;
      }
      if (begin > gap_start) out.emplace_back(s.substr(gap_start, begin - gap_start));
      out.emplace_back(s.substr(begin, end - begin));
      pos = gap_start = end;
    }
    if (gap_start < s.size()) out.emplace_back(s.substr(gap_start));
    pcre2_match_data_free(md);
  }

 private:
  pcre2_code* code_ = nullptr;
};

namespace {

void add_step(const nlohmann::json& step, std::vector<std::unique_ptr<Regex>>& regexes, bool& add_prefix_space,
              const std::string& source) {
  const std::string type = step.value("type", "");
  if (type == "Sequence") {
    for (const auto& s : step.at("pretokenizers")) add_step(s, regexes, add_prefix_space, source);
  } else if (type == "ByteLevel") {
    add_prefix_space = step.value("add_prefix_space", false);
    if (step.value("use_regex", true)) regexes.push_back(std::make_unique<Regex>(kGpt2Pattern, source));
  } else if (type == "Digits") {
    regexes.push_back(std::make_unique<Regex>(step.value("individual_digits", false) ? R"(\p{N})" : R"(\p{N}+)", source));
  } else if (type == "Split") {
    if (step.value("behavior", "") != "Isolated" || step.value("invert", false)) {
      throw TokenizerError(source + ": Split pre-tokenizer with behavior " + step.value("behavior", "?") +
                           (step.value("invert", false) ? " (inverted)" : "") + " is not supported (only Isolated)");
    }
    const auto& pattern = step.at("pattern");
    if (pattern.contains("Regex")) {
      regexes.push_back(std::make_unique<Regex>(pattern.at("Regex").get<std::string>(), source));
    } else {
      throw TokenizerError(source + ": Split pre-tokenizer on a plain string is not supported");
    }
  } else {
    throw TokenizerError(source + ": pre-tokenizer type \"" + type + "\" is not supported");
  }
}

std::string nfc(std::string_view text) {
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* n = icu::Normalizer2::getNFCInstance(status);
  if (U_FAILURE(status)) throw TokenizerError("ICU has no NFC normalizer");
  icu::UnicodeString u = icu::UnicodeString::fromUTF8(icu::StringPiece(text.data(), static_cast<int32_t>(text.size())));
  if (n->isNormalized(u, status) && U_SUCCESS(status)) return std::string(text);
  status = U_ZERO_ERROR;
  icu::UnicodeString out = n->normalize(u, status);
  if (U_FAILURE(status)) throw TokenizerError("NFC normalization failed");
  std::string s;
  out.toUTF8String(s);
  return s;
}

}  // namespace

PreTokenizer::PreTokenizer(const nlohmann::json& normalizer, const nlohmann::json& pre_tokenizer, const std::string& source) {
  if (!normalizer.is_null()) {
    const std::string type = normalizer.value("type", "");
    if (type != "NFC") throw TokenizerError(source + ": normalizer \"" + type + "\" is not supported (only NFC or none)");
    normalization_ = "NFC";
  }
  std::vector<std::unique_ptr<Regex>> regexes;
  add_step(pre_tokenizer, regexes, add_prefix_space_, source);
  for (auto& r : regexes) steps_.push_back({std::move(r)});
}

PreTokenizer::~PreTokenizer() = default;

std::vector<std::string> PreTokenizer::split(std::string_view text) const {
  std::string normalized = normalization_ == "NFC" ? nfc(text) : std::string(text);
  if (add_prefix_space_ && !normalized.empty() && normalized.front() != ' ') normalized.insert(0, 1, ' ');
  std::vector<std::string> pieces{std::move(normalized)};
  for (const Step& step : steps_) {
    std::vector<std::string> next;
    next.reserve(pieces.size() * 2);
    for (const std::string& p : pieces) step.regex->split_isolated(p, next);
    pieces = std::move(next);
  }
  return pieces;
}

}  // namespace hd::tokenize
