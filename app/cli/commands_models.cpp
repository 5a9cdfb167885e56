// hyenadesk models: the installed language models, and which one is the default.
#include <cstdio>
#include <iostream>

#include "args.h"
#include "commands.h"
#include "hd/app/model_registry.h"
#include "hd/app/paths.h"

namespace hd::cli {

int run_models(const Argv& argv) {
  Args args(argv, {"--models", "--set-default"});
  if (!args.positional().empty()) throw UsageError("models takes no positional arguments");
  const std::filesystem::path dir = args.value("--models") ? std::filesystem::path(*args.value("--models")) : default_models_dir();
  if (auto name = args.value("--set-default")) {
    set_default_model(dir, *name);
    std::cout << "default model: " << *name << "\n";
    return 0;
  }
  const auto models = list_models(dir);
  if (models.empty()) {
    std::cout << "no language models in " << dir.string() << " (scripts/setup installs them)\n";
    return 0;
  }
  std::cout << "models in " << dir.string() << " (* = default):\n";
  for (const InstalledModel& m : models) {
    std::cout << (m.is_default ? "* " : "  ") << m.name << "\n";
    if (!m.problem.empty()) {
      std::cout << "      unusable: " << m.problem << "\n";
      continue;
    }
    const int attention = m.config.num_attention_blocks(), hyena = m.config.num_hyena_blocks();
    char line[256];
    std::snprintf(line, sizeof line, "      %.2f B parameters, %.2f GiB on disk, context %d tokens\n",
                  static_cast<double>(m.parameters) / 1e9, static_cast<double>(m.bytes_on_disk) / (1ull << 30),
                  m.config.max_seqlen);
    std::cout << line;
    std::cout << "      layers " << m.config.num_layers << " (" << attention << " attention, " << hyena << " Hyena): "
              << m.layer_pattern << "\n";
    std::cout << "      tokenizer " << m.tokenizer << "; chat template " << m.chat_template << "\n";
    std::cout << "      licence " << m.licence << (m.source.empty() ? "" : "; from " + m.source) << "\n";
  }
  return 0;
}

}  // namespace hd::cli
