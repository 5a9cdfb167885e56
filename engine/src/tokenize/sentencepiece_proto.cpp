// tokenizer.json (HF BPE) -> serialized sentencepiece.ModelProto.
//
// Debian's libsentencepiece ships no .proto header, so the few fields needed are written in
// the protobuf wire format directly. The recipe (checked against HF tokenizers 0.23 on 369
// texts, see docs/stripedhyena.md) is:
//   pieces in id order; <unk> UNKNOWN, <s> and </s> CONTROL, <0xNN> BYTE, the rest NORMAL;
//   score of a piece = -(rank of the first merge that produces it), pieces no merge produces
//   score below all of those; trainer: BPE, byte_fallback, unk/bos/eos 0/1/2, pad -1;
//   normalizer "identity" with add_dummy_prefix, escape_whitespaces, no whitespace folding.
#include <cctype>
#include <cstdint>
#include <cstring>
#include <limits>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "hd/engine/tokenizer.h"

namespace hd {
namespace {

// sentencepiece_model.proto field numbers.
enum : int {
  kModelPieces = 1, kModelTrainerSpec = 2, kModelNormalizerSpec = 3,
  kPiecePiece = 1, kPieceScore = 2, kPieceType = 3,
  kTrainerModelType = 3, kTrainerVocabSize = 4, kTrainerByteFallback = 35,
  kTrainerUnkId = 40, kTrainerBosId = 41, kTrainerEosId = 42, kTrainerPadId = 43,
  kNormName = 1, kNormAddDummyPrefix = 3, kNormRemoveExtraWhitespaces = 4, kNormEscapeWhitespaces = 5,
};
enum : int { kTypeNormal = 1, kTypeUnknown = 2, kTypeControl = 3, kTypeByte = 6 };
constexpr int kModelTypeBpe = 2;

class ProtoWriter {
 public:
  void varint(std::uint64_t v) {
    while (v >= 0x80) {
      out_ += static_cast<char>((v & 0x7f) | 0x80);
      v >>= 7;
    }
    out_ += static_cast<char>(v);
  }
  void tag(int field, int wire_type) { varint((static_cast<std::uint64_t>(field) << 3) | wire_type); }
  void int_field(int field, std::int64_t v) {  // int32/enum/bool: negative values as 10-byte varints
    tag(field, 0);
    varint(static_cast<std::uint64_t>(v));
  }
  void float_field(int field, float v) {
    tag(field, 5);
    std::uint32_t bits;
    std::memcpy(&bits, &v, 4);
    for (int i = 0; i < 4; ++i) out_ += static_cast<char>(bits >> (8 * i));
  }
  void bytes_field(int field, const std::string& s) {
    tag(field, 2);
    varint(s.size());
    out_ += s;
  }
  const std::string& str() const { return out_; }

 private:
  std::string out_;
};

bool is_byte_piece(const std::string& p) {
  return p.size() == 6 && p.compare(0, 3, "<0x") == 0 && p[5] == '>' && std::isxdigit(static_cast<unsigned char>(p[3])) &&
         std::isxdigit(static_cast<unsigned char>(p[4]));
}

}  // namespace

std::string sentencepiece_proto_from_hf_json(const std::string& json_text, const std::string& source) {
  using nlohmann::json;
  json j;
  try {
    j = json::parse(json_text);
  } catch (const json::parse_error& e) {
    throw TokenizerError(source + ": not valid JSON (" + e.what() + ")");
  }
  auto fail = [&](const std::string& why) -> TokenizerError { return TokenizerError(source + ": " + why); };
  if (!j.contains("model") || !j["model"].is_object()) throw fail("no \"model\" object (not an HF tokenizer.json?)");
  const json& model = j["model"];
  if (model.value("type", "") != "BPE") throw fail("model type " + model.value("type", std::string("?")) + " is not BPE");
  if (!model.value("byte_fallback", false)) throw fail("byte_fallback is off; StripedHyena's tokenizer uses it");
  if (!model.contains("vocab") || !model["vocab"].is_object()) throw fail("model.vocab is missing");
  if (!model.contains("merges") || !model["merges"].is_array()) throw fail("model.merges is missing");

  // id -> piece, checking the ids form 0..n-1 without gaps or repeats.
  const json& vocab = model["vocab"];
  std::vector<std::string> pieces(vocab.size());
  std::vector<bool> seen(vocab.size(), false);
  for (auto it = vocab.begin(); it != vocab.end(); ++it) {
    if (!it.value().is_number_integer()) throw fail("vocab entry \"" + it.key() + "\" has no integer id");
    auto id = it.value().get<std::int64_t>();
    if (id < 0 || id >= static_cast<std::int64_t>(pieces.size()) || seen[id]) {
      throw fail("vocab ids are not 0.." + std::to_string(pieces.size() - 1) + " each once (at \"" + it.key() + "\")");
    }
    seen[id] = true;
    pieces[id] = it.key();
  }

  // Rank of the first merge that produces each piece.
  std::unordered_map<std::string, std::int64_t> rank;
  std::int64_t r = 0;
  for (const json& m : model["merges"]) {
    std::string merged;
    if (m.is_string()) {
      const std::string s = m.get<std::string>();
      auto sp = s.find(' ');
      if (sp == std::string::npos) throw fail("merge \"" + s + "\" is not two pieces separated by a space");
      merged = s.substr(0, sp) + s.substr(sp + 1);
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {  // newer format
      merged = m[0].get<std::string>() + m[1].get<std::string>();
    } else {
      throw fail("merge #" + std::to_string(r) + " is malformed");
    }
    rank.emplace(merged, r++);  // emplace keeps the first
  }
  const std::int64_t merges = r;

  auto special_id = [&](const char* content) -> std::int64_t {
    for (const json& a : j.value("added_tokens", json::array())) {
      if (a.value("content", "") == content) return a.value("id", -1);
    }
    auto it = vocab.find(content);
    return it == vocab.end() ? -1 : it->get<std::int64_t>();
  };
  const std::int64_t unk = special_id("<unk>"), bos = special_id("<s>"), eos = special_id("</s>");
  if (unk < 0 || bos < 0 || eos < 0) throw fail("the vocabulary lacks <unk>, <s> or </s>");

  ProtoWriter proto;
  for (std::size_t id = 0; id < pieces.size(); ++id) {
    ProtoWriter p;
    p.bytes_field(kPiecePiece, pieces[id]);
    auto it = rank.find(pieces[id]);
    float score = it != rank.end() ? -static_cast<float>(it->second)
                                   : -static_cast<float>(merges + static_cast<std::int64_t>(id));
    p.float_field(kPieceScore, score);
    int type = kTypeNormal;
    if (static_cast<std::int64_t>(id) == unk) type = kTypeUnknown;
    else if (static_cast<std::int64_t>(id) == bos || static_cast<std::int64_t>(id) == eos) type = kTypeControl;
    else if (is_byte_piece(pieces[id])) type = kTypeByte;
    p.int_field(kPieceType, type);
    proto.bytes_field(kModelPieces, p.str());
  }
  ProtoWriter trainer;
  trainer.int_field(kTrainerModelType, kModelTypeBpe);
  trainer.int_field(kTrainerVocabSize, static_cast<std::int64_t>(pieces.size()));
  trainer.int_field(kTrainerByteFallback, 1);
  trainer.int_field(kTrainerUnkId, unk);
  trainer.int_field(kTrainerBosId, bos);
  trainer.int_field(kTrainerEosId, eos);
  trainer.int_field(kTrainerPadId, -1);
  proto.bytes_field(kModelTrainerSpec, trainer.str());
  ProtoWriter norm;
  norm.bytes_field(kNormName, "identity");
  norm.int_field(kNormAddDummyPrefix, 1);
  norm.int_field(kNormRemoveExtraWhitespaces, 0);
  norm.int_field(kNormEscapeWhitespaces, 1);
  proto.bytes_field(kModelNormalizerSpec, norm.str());
  return proto.str();
}

}  // namespace hd
