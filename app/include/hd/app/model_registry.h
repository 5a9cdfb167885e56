#pragma once
// The models folder: each language model is a subfolder in the HF layout (config.json of a
// StripedHyena model, safetensors, tokenizer), named by its folder. One of them is the default
// (the file `default-model` in the folder names it; setup writes it). `--model NAME|DIR` on every
// command resolves here. Other folders (the sentence embedder) are not language models and are
// left out of the list.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "hd/engine/model_config.h"

namespace hd {

class ModelNotFound : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct InstalledModel {
  std::string name;                // the folder's name
  std::filesystem::path dir;
  ModelConfig config;
  std::string layer_pattern;       // one letter a block: A attention, H Hyena
  std::int64_t parameters = 0;
  std::uint64_t bytes_on_disk = 0;
  std::string tokenizer;           // "SentencePiece BPE", "byte-level BPE (qwen2), NFC", ...
  std::string chat_template;       // "chatml", "nous-instruction"
  std::string licence;             // from PROVENANCE.json / LICENSE, else "unknown"
  std::string source;              // upstream model and package, from PROVENANCE.json
  bool random_weights = false;     // written by `hyenadesk mkmodel`: its output is noise
  bool is_default = false;
  std::string problem;             // why it cannot be used, when it cannot (listed, not hidden)
};

// Every language model folder under `models_dir`, by name. Broken folders are listed with their problem.
std::vector<InstalledModel> list_models(const std::filesystem::path& models_dir);
// Describes one model folder (throws when it is not a model folder at all).
InstalledModel describe_model(const std::filesystem::path& dir, const std::string& default_name = "");

std::string default_model_name(const std::filesystem::path& models_dir);  // "" when none is set
void set_default_model(const std::filesystem::path& models_dir, const std::string& name);

// `name_or_dir`: a folder with a config.json, or the name of an installed model; unset: the
// default model. Throws ModelNotFound saying what is installed and how to install.
std::filesystem::path resolve_model(const std::optional<std::string>& name_or_dir, const std::filesystem::path& models_dir);

// True when the checkpoint in `dir` was written with random weights (`hyenadesk mkmodel`).
bool has_random_weights(const std::filesystem::path& dir);

}  // namespace hd
