#include "hd/engine/prompt_template.h"

#include <fstream>

#include <nlohmann/json.hpp>

namespace hd {
namespace {

// A template piece: text, or a special token by name.
struct Piece {
  std::string text;
  bool special = false;
};

std::vector<Piece> chatml_pieces(const std::vector<ChatMessage>& messages, const std::string& default_system,
                                 bool add_generation_prompt) {
  std::vector<Piece> out;
  auto message = [&](const std::string& role, const std::string& content) {
    out.push_back({"<|im_start|>", true});
    out.push_back({role + "\n" + content});
    out.push_back({"<|im_end|>", true});
    out.push_back({"\n"});
  };
  if (!default_system.empty() && (messages.empty() || messages.front().role != "system")) message("system", default_system);
  for (const ChatMessage& m : messages) message(m.role, m.content);
  if (add_generation_prompt) {
    out.push_back({"<|im_start|>", true});
    out.push_back({"assistant\n"});
  }
  return out;
}

std::vector<Piece> nous_pieces(const std::vector<ChatMessage>& messages, bool add_generation_prompt) {
  // The Nous format has one instruction; system text and earlier turns go before it, in order.
  std::string instruction, history;
  for (const ChatMessage& m : messages) {
    if (m.role == "assistant") history += "### Instruction:\n" + instruction + "\n\n### Response:\n" + m.content + "\n\n";
    if (m.role == "assistant") instruction.clear();
    else instruction += (instruction.empty() ? "" : "\n\n") + m.content;
  }
  std::string text = history + "### Instruction:\n" + instruction + "\n\n";
  if (add_generation_prompt) text += "### Response:\n";
  return {{text}};
}

std::vector<int> encode_pieces(const Tokenizer& tokenizer, const std::vector<Piece>& pieces, bool add_bos) {
  std::vector<int> ids;
  if (add_bos && tokenizer.bos_id() >= 0) ids.push_back(tokenizer.bos_id());
  for (const Piece& p : pieces) {
    if (p.special) {
      const int id = tokenizer.special_id(p.text);
      if (id < 0) throw TokenizerError("the chat template needs the special token " + p.text + ", which the tokenizer lacks");
      ids.push_back(id);
    } else if (!p.text.empty()) {
      const std::vector<int> t = tokenizer.encode(p.text, false);
      ids.insert(ids.end(), t.begin(), t.end());
    }
  }
  return ids;
}

}  // namespace

std::string nous_chat_prompt(const std::string& instruction) {
  return "### Instruction:\n" + instruction + "\n\n### Response:\n";
}

ChatTemplate ChatTemplate::chatml(std::string default_system_prompt) {
  ChatTemplate t;
  t.format_ = ChatFormat::chatml;
  t.default_system_ = std::move(default_system_prompt);
  return t;
}

ChatTemplate ChatTemplate::nous_instruction() { return ChatTemplate(); }

ChatTemplate ChatTemplate::for_model(const std::filesystem::path& model_dir) {
  const auto file = model_dir / "tokenizer_config.json";
  if (!std::filesystem::exists(file)) return nous_instruction();
  std::ifstream in(file);
  const nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw TokenizerError(file.string() + ": not valid JSON");
  if (j.contains("hyenadesk") && j["hyenadesk"].is_object()) {
    const auto& h = j["hyenadesk"];
    const std::string format = h.value("chat_format", "");
    const std::string system = h.contains("default_system_prompt") && h["default_system_prompt"].is_string()
                                   ? h["default_system_prompt"].get<std::string>()
                                   : "";
    if (format == "chatml") return chatml(system);
    if (format == "nous-instruction") return nous_instruction();
    throw TokenizerError(file.string() + ": chat_format \"" + format + "\" is not one HyenaDesk knows (chatml, nous-instruction)");
  }
  const std::string tmpl = j.contains("chat_template") && j["chat_template"].is_string() ? j["chat_template"].get<std::string>() : "";
  if (tmpl.empty()) return nous_instruction();
  if (tmpl.find("<|im_start|>") != std::string::npos) return chatml("");
  throw TokenizerError(file.string() + ": its chat template is of a family HyenaDesk does not render (starts: " +
                       tmpl.substr(0, tmpl.find('\n')).substr(0, 80) + ")");
}

std::string ChatTemplate::name() const {
  return format_ == ChatFormat::chatml ? "chatml" : "nous-instruction";
}

std::vector<int> ChatTemplate::render(const Tokenizer& tokenizer, const std::vector<ChatMessage>& messages,
                                      bool add_generation_prompt) const {
  if (format_ == ChatFormat::chatml) {
    return encode_pieces(tokenizer, chatml_pieces(messages, default_system_, add_generation_prompt), true);
  }
  return encode_pieces(tokenizer, nous_pieces(messages, add_generation_prompt), true);
}

std::vector<int> ChatTemplate::render_next_turn(const Tokenizer& tokenizer, const std::string& user_message) const {
  if (format_ == ChatFormat::chatml) {
    // The assistant's reply ended with <|im_end|> (in the state); the newline after it, then the turn.
    return encode_pieces(tokenizer, {{"\n"}, {"<|im_start|>", true}, {"user\n" + user_message}, {"<|im_end|>", true},
                                     {"\n"}, {"<|im_start|>", true}, {"assistant\n"}},
                         false);
  }
  return encode_pieces(tokenizer, {{"\n\n### Instruction:\n" + user_message + "\n\n### Response:\n"}}, false);
}

std::vector<int> ChatTemplate::open_user_turn(const Tokenizer& tokenizer, const std::string& system) const {
  if (format_ == ChatFormat::chatml) {
    const std::string& sys = system.empty() ? default_system_ : system;
    std::vector<Piece> pieces;
    if (!sys.empty()) pieces = {{"<|im_start|>", true}, {"system\n" + sys}, {"<|im_end|>", true}, {"\n"}};
    pieces.push_back({"<|im_start|>", true});
    pieces.push_back({"user\n"});
    return encode_pieces(tokenizer, pieces, true);
  }
  return encode_pieces(tokenizer, {{"### Instruction:\n" + (system.empty() ? "" : system + "\n\n")}}, true);
}

std::vector<int> ChatTemplate::close_user_turn(const Tokenizer& tokenizer) const {
  if (format_ == ChatFormat::chatml) {
    return encode_pieces(tokenizer, {{"<|im_end|>", true}, {"\n"}, {"<|im_start|>", true}, {"assistant\n"}}, false);
  }
  return encode_pieces(tokenizer, {{"\n\n### Response:\n"}}, false);
}

int ChatTemplate::end_of_turn_id(const Tokenizer& tokenizer) const {
  return format_ == ChatFormat::chatml ? tokenizer.special_id("<|im_end|>") : -1;
}

std::string ChatTemplate::render_text(const std::vector<ChatMessage>& messages, bool add_generation_prompt) const {
  std::string out;
  const auto pieces = format_ == ChatFormat::chatml ? chatml_pieces(messages, default_system_, add_generation_prompt)
                                                    : nous_pieces(messages, add_generation_prompt);
  for (const Piece& p : pieces) out += p.text;
  return out;
}

}  // namespace hd
