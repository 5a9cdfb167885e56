#include <iostream>

#include "args.h"
#include "commands.h"
#include "hd/app/model_summary.h"
#include "hd/engine/model_presets.h"
#include "hd/engine/random_checkpoint.h"

namespace hd::cli {

int run_mkmodel(const Argv& argv) {
  Args args(argv, {"--preset", "--config", "--out", "--seed", "--dtype", "--shard-mb", "--tokenizer"});
  const std::string out = args.required("--out");
  ModelConfig config;
  if (auto file = args.value("--config")) config = ModelConfig::from_file(*file);
  else config = preset_config(args.value("--preset").value_or("tiny"));
  RandomCheckpointOptions options;
  options.seed = static_cast<std::uint64_t>(args.integer("--seed", 0));
  const std::string dtype = args.value("--dtype").value_or("bf16");
  if (dtype == "bf16") options.dtype = DType::bf16;
  else if (dtype == "f32") options.dtype = DType::f32;
  else if (dtype == "f16") options.dtype = DType::f16;
  else throw UsageError("--dtype must be bf16, f16 or f32");
  const long long shard_mb = args.integer("--shard-mb", 2048);
  if (shard_mb <= 0) throw UsageError("--shard-mb must be positive");
  options.max_shard_bytes = static_cast<std::uint64_t>(shard_mb) << 20;
  if (auto t = args.value("--tokenizer")) options.tokenizer_json = *t;
  write_random_checkpoint(config, out, options);
  std::cout << "wrote a random-weight checkpoint (seed " << options.seed << ", " << dtype << ") to " << out << "\n";
  return 0;
}

int run_model_info(const Argv& argv) {
  Args args(argv, {"--context"});
  if (args.positional().size() != 1) throw UsageError("model-info takes one model folder");
  ModelSummaryOptions options;
  options.context_tokens = args.integer("--context", 0);
  std::cout << model_summary_text(args.positional()[0], options);
  return 0;
}

}  // namespace hd::cli
