#include "hd/app/model_files.h"

#include "hd/engine/tokenizer.h"

namespace hd {

std::filesystem::path find_tokenizer(const std::filesystem::path& model_dir) {
  for (const char* name : {"tokenizer.json", "tokenizer.model"}) {
    if (std::filesystem::exists(model_dir / name)) return model_dir / name;
  }
  throw TokenizerError(model_dir.string() + ": no tokenizer.json or tokenizer.model in the model folder");
}

}  // namespace hd
