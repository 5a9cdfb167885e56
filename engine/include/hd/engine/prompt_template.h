#pragma once
// Prompt formats the StripedHyena models were tuned on.
#include <string>

namespace hd {

// StripedHyena-Nous-7B: "### Instruction:\n{prompt}\n\n### Response:\n".
std::string nous_chat_prompt(const std::string& instruction);

}  // namespace hd
