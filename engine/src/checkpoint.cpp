#include "hd/engine/checkpoint.h"

#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include "hd/engine/hash.h"
#include "hd/engine/tensor_names.h"

namespace hd {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string strip_prefix(const std::string& name) {
  const std::string prefix = kHfPrefix;
  return name.compare(0, prefix.size(), prefix) == 0 ? name.substr(prefix.size()) : name;
}

// The shard files of a checkpoint folder, following the index when there is one.
std::vector<fs::path> shard_paths(const fs::path& dir, std::map<std::string, std::string>& index_map) {
  const fs::path index = dir / "model.safetensors.index.json";
  if (fs::exists(index)) {
    std::ifstream in(index, std::ios::binary);
    json j;
    try {
      j = json::parse(in);
    } catch (const json::parse_error& e) {
      throw WeightsError(index.string() + ": not valid JSON (" + e.what() + ")");
    }
    if (!j.contains("weight_map") || !j["weight_map"].is_object()) {
      throw WeightsError(index.string() + ": missing the \"weight_map\" object");
    }
    std::set<std::string> files;
    for (auto it = j["weight_map"].begin(); it != j["weight_map"].end(); ++it) {
      if (!it.value().is_string()) throw WeightsError(index.string() + ": weight_map[\"" + it.key() + "\"] is not a file name");
      std::string file = it.value().get<std::string>();
      if (file.find('/') != std::string::npos || file == "..") {
        throw WeightsError(index.string() + ": shard name \"" + file + "\" must be a plain file name in the folder");
      }
      index_map[it.key()] = file;
      files.insert(file);
    }
    std::vector<fs::path> out;
    for (const auto& f : files) out.push_back(dir / f);
    return out;
  }
  if (fs::exists(dir / "model.safetensors")) return {dir / "model.safetensors"};
  for (const char* pickle : {"pytorch_model.bin", "pytorch_model.bin.index.json", "model.pt", "consolidated.pt"}) {
    if (fs::exists(dir / pickle)) {
      throw WeightsError((dir / pickle).string() +
                         ": PyTorch pickle checkpoints are refused (loading a pickle can run arbitrary code). "
                         "Convert the model to safetensors, e.g. with the safetensors package's convert script, "
                         "or download the .safetensors files the model repository ships.");
    }
  }
  throw WeightsError(dir.string() + ": no model.safetensors or model.safetensors.index.json in this folder");
}

}  // namespace

std::unique_ptr<Checkpoint> Checkpoint::open(const fs::path& dir, const CheckpointOptions& options) {
  if (!fs::is_directory(dir)) throw WeightsError(dir.string() + ": not a model folder (does not exist or is a file)");
  auto ck = std::unique_ptr<Checkpoint>(new Checkpoint());
  ck->dir_ = dir;
  ck->config_ = ModelConfig::from_file(dir / "config.json");

  std::map<std::string, std::string> index_map;
  for (const fs::path& p : shard_paths(dir, index_map)) {
    if (!fs::exists(p)) throw WeightsError(p.string() + ": shard listed in model.safetensors.index.json is missing");
    ck->files_.push_back(SafetensorsFile::open(p));
  }

  // Gather tensors from every shard under their bare names.
  std::map<std::string, std::string> found_in;  // bare name -> file
  for (const auto& file : ck->files_) {
    for (const auto& [name, view] : file->tensors()) {
      const std::string bare = strip_prefix(name);
      if (!index_map.empty()) {
        auto it = index_map.find(name);
        if (it == index_map.end() || it->second != file->path().filename().string()) {
          throw WeightsError(file->path().string() + ": tensor \"" + name +
                             "\" is not listed for this shard in model.safetensors.index.json");
        }
      }
      if (found_in.count(bare)) {
        throw WeightsError(file->path().string() + ": tensor \"" + bare + "\" also appears in " + found_in[bare]);
      }
      found_in[bare] = file->path().string();
      ck->tensors_.emplace(bare, view);
    }
  }
  for (const auto& [name, file] : index_map) {
    if (!ck->tensors_.count(strip_prefix(name))) {
      throw WeightsError((dir / file).string() + ": tensor \"" + name + "\" is listed in the index but not in the shard");
    }
  }

  // Every tensor the config needs, with the right shape.
  std::set<std::string> expected_names;
  for (const TensorSpec& spec : expected_tensors(ck->config_)) {
    expected_names.insert(spec.name);
    auto it = ck->tensors_.find(spec.name);
    if (it == ck->tensors_.end()) {
      throw WeightsError(dir.string() + ": tensor \"" + spec.name + "\" is missing (the config needs it)");
    }
    const TensorView& v = it->second;
    if (v.shape != spec.shape) {
      TensorView want;
      want.shape = spec.shape;
      throw WeightsError(v.file.string() + ": tensor \"" + spec.name + "\" has shape " + v.shape_text() +
                         ", the config needs " + want.shape_text());
    }
    if (!is_float(v.dtype)) {
      throw WeightsError(v.file.string() + ": tensor \"" + spec.name + "\" is stored in " + dtype_name(v.dtype) +
                         "; model weights must be F32, BF16 or F16");
    }
    if (spec.float32_required && v.dtype != DType::f32) {
      std::string why = "tensor \"" + spec.name + "\" is stored in " + dtype_name(v.dtype) +
                        ": poles and residues must stay float32, since rounding a pole near the unit circle "
                        "changes how fast the long filter decays (the reference README's own warning)";
      if (!options.allow_low_precision_poles) throw WeightsError(v.file.string() + ": " + why);
      ck->warnings_.push_back(v.file.string() + ": " + why + "; upcast to float32 as allowed");
    }
  }
  for (const auto& [name, view] : ck->tensors_) {
    if (expected_names.count(name) || is_ignorable_extra_tensor(name)) continue;
    if (!options.allow_unknown_tensors) {
      throw WeightsError(view.file.string() + ": tensor \"" + name + "\" is not part of this model's config");
    }
    ck->warnings_.push_back(view.file.string() + ": unused tensor \"" + name + "\"");
  }
  return ck;
}

const TensorView& Checkpoint::tensor(const std::string& bare_name) const {
  auto it = tensors_.find(bare_name);
  if (it == tensors_.end()) throw WeightsError(dir_.string() + ": no tensor \"" + bare_name + "\"");
  return it->second;
}

std::map<DType, std::int64_t> Checkpoint::parameters_by_dtype() const {
  std::map<DType, std::int64_t> out;
  for (const TensorSpec& spec : expected_tensors(config_)) {
    const TensorView& v = tensor(spec.name);
    out[v.dtype] += v.numel();
  }
  return out;
}

std::uint64_t Checkpoint::bytes_on_disk() const {
  std::uint64_t total = 0;
  for (const auto& f : files_) total += f->file_size();
  return total;
}

}  // namespace hd

namespace hd {

std::uint64_t Checkpoint::fingerprint() const {
  Fnv1a64 h;
  h.update(config_.to_json().dump());
  for (const auto& [name, v] : tensors_) {  // sorted by name: independent of sharding
    h.update(name);
    h.update(dtype_name(v.dtype));
    for (auto d : v.shape) h.update(&d, sizeof d);
    // Up to 16 slices of 64 bytes spread over the tensor.
    const std::size_t slice = std::min<std::size_t>(64, v.nbytes);
    for (int k = 0; k < 16 && slice > 0; ++k) {
      std::size_t offset = (v.nbytes - slice) * static_cast<std::size_t>(k) / 15;
      h.update(v.data + offset, slice);
    }
  }
  return h.digest();
}

}  // namespace hd
