#include "hd/engine/prompt_template.h"

namespace hd {

std::string nous_chat_prompt(const std::string& instruction) {
  return "### Instruction:\n" + instruction + "\n\n### Response:\n";
}

}  // namespace hd
