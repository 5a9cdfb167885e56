#pragma once
// The two tokenizer kinds behind hd::Tokenizer (engine-private).
#include <memory>
#include <string>

#include "hd/engine/tokenizer.h"

namespace hd::tokenize {

// `proto`: a serialized SentencePiece ModelProto; `source` names the file in errors.
std::unique_ptr<Tokenizer> make_sentencepiece(const std::string& proto, const std::string& source);

// `json_text`: an HF tokenizer.json with a ByteLevel pre-tokenizer; `config_text`: the
// tokenizer_config.json beside it, or empty.
std::unique_ptr<Tokenizer> make_byte_level_bpe(const std::string& json_text, const std::string& config_text,
                                               const std::string& source);

// True when the tokenizer.json describes byte-level BPE (a ByteLevel pre-tokenizer, alone or in
// a sequence).
bool is_byte_level_json(const std::string& json_text);

}  // namespace hd::tokenize
