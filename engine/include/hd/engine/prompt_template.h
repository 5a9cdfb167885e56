#pragma once
// Prompt formats, chosen from the model folder. HyenaDesk supports the families its models use,
// by name, rather than a Jinja interpreter (Debian packages none for C++):
// - "nous-instruction": StripedHyena-Nous-7B, "### Instruction:\n{prompt}\n\n### Response:\n";
// - "chatml": SmolLM2 and Qwen2.5 instruct models, "<|im_start|>{role}\n{content}<|im_end|>\n" per
//   message, then "<|im_start|>assistant\n"; a default system message is added when none is given.
// Rendering gives ids, not text: message text is always encoded as text (a document cannot
// close a turn), and the template's own special tokens are looked up by name.
#include <filesystem>
#include <string>
#include <vector>

#include "hd/engine/tokenizer.h"

namespace hd {

// StripedHyena-Nous-7B: "### Instruction:\n{prompt}\n\n### Response:\n".
std::string nous_chat_prompt(const std::string& instruction);

struct ChatMessage {
  std::string role;  // "system", "user" or "assistant"
  std::string content;
};

enum class ChatFormat { nous_instruction, chatml };

class ChatTemplate {
 public:
  // From `model_dir`'s tokenizer_config.json: its "hyenadesk" section (written by the GGUF
  // importer), else a ChatML chat_template, else (StripedHyena's own folders) Nous instruction.
  // A chat_template of another family is refused with its first line, never guessed.
  static ChatTemplate for_model(const std::filesystem::path& model_dir);
  static ChatTemplate chatml(std::string default_system_prompt);
  static ChatTemplate nous_instruction();

  ChatFormat format() const { return format_; }
  std::string name() const;
  const std::string& default_system_prompt() const { return default_system_; }

  // The whole conversation, ending with the assistant's turn opened when `add_generation_prompt`.
  std::vector<int> render(const Tokenizer& tokenizer, const std::vector<ChatMessage>& messages,
                          bool add_generation_prompt = true) const;
  // One more user turn after a conversation whose last assistant reply ended with the model's
  // end-of-turn token (chat continues on its saved state): closes nothing, opens the next turn.
  std::vector<int> render_next_turn(const Tokenizer& tokenizer, const std::string& user_message) const;
  // A user turn built piece by piece, so that a state can be cached after each piece (documents
  // first, question last): open_user_turn(system) + encode(piece)... + close_user_turn() equals
  // render({{system}, {user, piece + ...}}) up to where the pieces' tokens meet.
  std::vector<int> open_user_turn(const Tokenizer& tokenizer, const std::string& system) const;
  std::vector<int> close_user_turn(const Tokenizer& tokenizer) const;
  // The token that ends the assistant's turn (<|im_end|>), or -1 where the format has none.
  int end_of_turn_id(const Tokenizer& tokenizer) const;
  // What render() encodes, with special tokens spelled out: for logs and tests.
  std::string render_text(const std::vector<ChatMessage>& messages, bool add_generation_prompt = true) const;

 private:
  ChatFormat format_ = ChatFormat::nous_instruction;
  std::string default_system_;
};

}  // namespace hd
