#pragma once
// The normalizer and pre-tokenizer of an HF tokenizer.json for byte-level BPE (engine-private):
// text -> NFC (when the model asks for it) -> pieces, split by the model's regexes with PCRE2
// (UTF + Unicode properties, JIT). Only the step types these models use are accepted; any other
// is refused by name, so a tokenizer we would get wrong is never used silently.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace hd::tokenize {

class Regex;  // a compiled PCRE2 pattern

class PreTokenizer {
 public:
  // `normalizer` and `pre_tokenizer` are the tokenizer.json's objects (the first may be null).
  PreTokenizer(const nlohmann::json& normalizer, const nlohmann::json& pre_tokenizer, const std::string& source);
  ~PreTokenizer();
  PreTokenizer(const PreTokenizer&) = delete;
  PreTokenizer& operator=(const PreTokenizer&) = delete;

  // `text` is valid UTF-8. Returns the pieces BPE runs on, in order; they concatenate to the
  // normalized text.
  std::vector<std::string> split(std::string_view text) const;
  // "NFC" or "none", for listings.
  const std::string& normalization() const { return normalization_; }

 private:
  struct Step {
    std::unique_ptr<Regex> regex;  // each match is a piece of its own, and so is each gap
  };
  std::vector<Step> steps_;
  std::string normalization_ = "none";
  bool add_prefix_space_ = false;
};

}  // namespace hd::tokenize
