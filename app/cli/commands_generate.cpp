// hyenadesk generate: load a model folder, read the prompt, stream the continuation.
// Ctrl-C stops generation cleanly (the text so far is kept); a second Ctrl-C exits.
#include <chrono>
#include <cstdio>
#include <iostream>

#include "args.h"
#include "commands.h"
#include "interrupt.h"
#include "hd/app/model_files.h"
#include "hd/app/model_registry.h"
#include "hd/app/paths.h"
#include "hd/engine/backend.h"
#include "hd/engine/checkpoint.h"
#include "hd/engine/generate.h"
#include "hd/engine/prompt_template.h"
#include "hd/kernels/device.h"

namespace hd::cli {
namespace {

float to_float(const Args& args, const std::string& flag, float fallback) {
  auto v = args.value(flag);
  if (!v) return fallback;
  try {
    return std::stof(*v);
  } catch (const std::exception&) {
    throw UsageError(flag + " needs a number, got \"" + *v + "\"");
  }
}

}  // namespace

int run_generate(const Argv& argv) {
  Args args(argv, {"--model", "--prompt", "--max-tokens", "--temperature", "--top-k", "--top-p", "--repeat-penalty",
                   "--seed", "--stop", "--threads", "--context", "--backend", "--system", "--models"});
  const std::filesystem::path models_dir =
      args.value("--models") ? std::filesystem::path(*args.value("--models")) : default_models_dir();
  const std::filesystem::path model_dir = resolve_model(args.value("--model"), models_dir);
  const std::string prompt = args.required("--prompt");

  auto checkpoint = Checkpoint::open(model_dir);
  for (const auto& w : checkpoint->warnings()) std::cerr << "warning: " << w << "\n";
  auto tokenizer = Tokenizer::from_file(find_tokenizer(model_dir));
  if (tokenizer->vocab_size() > checkpoint->config().vocab_size) {
    throw TokenizerError("the tokenizer has " + std::to_string(tokenizer->vocab_size()) + " pieces but the model only " +
                         std::to_string(checkpoint->config().vocab_size));
  }
  const std::string which = args.value("--backend").value_or("auto");
  if (which != "auto" && which != "cpu" && which != "cuda") throw UsageError("--backend must be auto, cpu or cuda");
  std::unique_ptr<Backend> backend;
  if (which == "cuda" || (which == "auto" && query_device(0).available)) {
    backend = make_cuda_backend(*checkpoint);  // bf16 weights, float32 accumulation
  } else {
    CpuBackendOptions cpu;
    cpu.threads = static_cast<int>(args.integer("--threads", 0));
    backend = make_cpu_backend(*checkpoint, cpu);
  }
  std::cerr << "[backend: " << backend->name() << "]\n";
  Session session(*backend, checkpoint->fingerprint(), {.max_positions = args.integer("--context", 0)});

  GenerateOptions options;
  options.max_new_tokens = static_cast<int>(args.integer("--max-tokens", 128));
  options.sampling.temperature = to_float(args, "--temperature", 0.0f);
  options.sampling.top_k = static_cast<int>(args.integer("--top-k", 0));
  options.sampling.top_p = to_float(args, "--top-p", 1.0f);
  options.sampling.repetition_penalty = to_float(args, "--repeat-penalty", 1.0f);
  options.sampling.seed = static_cast<std::uint64_t>(args.integer("--seed", 0));
  if (auto stop = args.value("--stop")) options.stop_strings.push_back(*stop);
  options.on_text = [](const std::string& piece) {
    std::cout << piece << std::flush;
  };
  InterruptScope interrupt;
  options.cancel = interrupt.flag();

  int replaced = 0;
  std::vector<int> ids;
  if (args.has("--chat")) {  // the model's own prompt format, from its folder
    const ChatTemplate chat = ChatTemplate::for_model(model_dir);
    std::vector<ChatMessage> messages;
    if (auto system = args.value("--system")) messages.push_back({"system", *system});
    messages.push_back({"user", prompt});
    ids = chat.render(*tokenizer, messages);
    std::cerr << "[model: " << model_dir.filename().string() << ", chat template: " << chat.name() << "]\n";
  } else {
    ids = tokenizer->encode(prompt, true, &replaced);
  }
  if (replaced) std::cerr << "note: " << replaced << " invalid UTF-8 sequence(s) in the prompt were replaced\n";
  if (has_random_weights(model_dir)) std::cerr << "note: this model has random weights: its output is noise\n";
  const auto start = std::chrono::steady_clock::now();
  GenerateResult result = generate(session, *tokenizer, ids, options);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << "\n";
  std::fprintf(stderr, "[%zu prompt tokens, %zu generated, %.2f s, stopped: %s]\n", ids.size(), result.tokens.size(),
               seconds, to_string(result.reason));
  return result.reason == StopReason::cancelled ? 130 : 0;
}

}  // namespace hd::cli
