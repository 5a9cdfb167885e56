#pragma once
// Finding the parts of a model folder a use case needs.
#include <filesystem>

namespace hd {

// tokenizer.json, else tokenizer.model, in `model_dir`; throws naming the folder when neither exists.
std::filesystem::path find_tokenizer(const std::filesystem::path& model_dir);

}  // namespace hd
