#pragma once
// A model folder as HF ships it: config.json, model.safetensors or shards listed in
// model.safetensors.index.json, and tokenizer.json. Opening it validates every tensor
// against the config before any of them is used.
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "hd/engine/model_config.h"
#include "hd/engine/safetensors.h"

namespace hd {

struct CheckpointOptions {
  // Accept tensors the config does not use (beyond the HF wrapper's tolerated leftovers).
  bool allow_unknown_tensors = false;
  // Accept poles/residues stored in bf16/f16; they are then upcast with a warning.
  bool allow_low_precision_poles = false;
};

class Checkpoint {
 public:
  static std::unique_ptr<Checkpoint> open(const std::filesystem::path& dir, const CheckpointOptions& options = {});

  const std::filesystem::path& dir() const { return dir_; }
  const ModelConfig& config() const { return config_; }
  // Bare tensor name -> view. Every expected tensor is present with the right shape.
  const TensorView& tensor(const std::string& bare_name) const;
  bool has(const std::string& bare_name) const { return tensors_.count(bare_name) != 0; }
  const std::vector<std::unique_ptr<SafetensorsFile>>& files() const { return files_; }
  // Things that were accepted but deserve the user's attention (e.g. bf16 poles).
  const std::vector<std::string>& warnings() const { return warnings_; }
  // Parameters by storage dtype.
  std::map<DType, std::int64_t> parameters_by_dtype() const;
  std::uint64_t bytes_on_disk() const;
  // Identifies these weights for state snapshots: a hash of the config, every tensor's name,
  // dtype and shape, and samples of every tensor's bytes (reading all of a 15 GB model would
  // take seconds).
  std::uint64_t fingerprint() const;

 private:
  std::filesystem::path dir_;
  ModelConfig config_;
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::map<std::string, TensorView> tensors_;
  std::vector<std::string> warnings_;
};

}  // namespace hd
