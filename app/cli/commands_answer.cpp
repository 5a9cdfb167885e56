// hyenadesk ask / summarize / chat: questions and summaries over the store, with the model's
// cached document states and page citations. The use cases live in app/ (hd/app/ask.h).
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>

#include <nlohmann/json.hpp>

#include "args.h"
#include "commands.h"
#include "interrupt.h"
#include "hd/app/answer_json.h"
#include "hd/app/format.h"
#include "hd/app/answer_service.h"
#include "hd/app/ask.h"
#include "hd/app/model_registry.h"
#include "hd/app/paths.h"
#include "hd/retrieval/vector_index.h"

namespace hd::cli {
namespace {

namespace fs = std::filesystem;

// Everything the answer commands open: store, vector index, embedder, model, prefill cache.
struct Opened {
  std::unique_ptr<Store> store;
  std::unique_ptr<TextEmbedder> embedder;
  std::unique_ptr<VectorIndex> index;
  std::unique_ptr<LanguageModel> model;
  std::unique_ptr<PrefillCache> cache;
  AnswerResources resources;
  std::vector<long long> documents;
};

const std::vector<std::string> kCommonFlags = {"--store", "--model", "--models", "--doc", "--device", "--max-tokens",
                                               "--context", "--threads", "--embedder", "--cache-mb",
                                               "--gpu-cache-mb", "--disk-cache-mb"};

Opened open_all(const Args& args) {
  Opened o;
  o.store = Store::open(args.value("--store") ? fs::path(*args.value("--store")) : default_store_dir());
  if (o.store->document_count() == 0) {
    throw UsageError("the store " + o.store->dir().string() + " is empty: add documents with hyenadesk ingest PATH");
  }
  for (const std::string& d : args.values("--doc")) {
    auto id = o.store->document_by_path(fs::absolute(d).string());
    if (!id) throw UsageError(d + " is not in the store (see: hyenadesk docs)");
    o.documents.push_back(*id);
  }
  const fs::path embedder_dir = args.value("--embedder") ? fs::path(*args.value("--embedder")) : default_models_dir() / "all-minilm-l6-v2";
  if (fs::exists(embedder_dir / "model.safetensors")) {
    o.embedder = TextEmbedder::open(embedder_dir, EmbedderDevice::cpu);
    if (o.store->vector_count() > 0) o.index = VectorIndex::open(*o.store, o.embedder->model_id(), o.embedder->dimension());
  } else {
    std::cerr << "note: no embedding model (scripts/setup installs it): full-text search, citations from [n] markers only\n";
  }
  const fs::path models = args.value("--models") ? fs::path(*args.value("--models")) : default_models_dir();
  std::optional<fs::path> model_dir;
  try {
    model_dir = resolve_model(args.value("--model"), models);
  } catch (const ModelNotFound& e) {
    if (args.value("--model")) throw;  // asked for by name: that is an error
    std::cerr << "note: " << e.what() << "\n";
  }
  if (model_dir) {
    DevicePreference device = DevicePreference::automatic;
    if (auto d = args.value("--device")) {
      if (*d == "cpu") device = DevicePreference::cpu;
      else if (*d == "cuda") device = DevicePreference::cuda;
      else if (*d != "auto") throw UsageError("--device takes auto, cpu or cuda");
    }
    o.model = load_language_model(*model_dir, device, static_cast<int>(args.integer("--threads", 0)));
    PrefillCacheOptions cache = prefill_cache_options(*o.model, o.store->dir(), static_cast<std::uint64_t>(args.integer("--gpu-cache-mb", 2048)),
                                                      static_cast<std::uint64_t>(args.integer("--cache-mb", 4096)),
                                                      static_cast<std::uint64_t>(args.integer("--disk-cache-mb", 32768)));
    if (args.has("--no-cache")) cache.disk_dir.clear();
    o.cache = std::make_unique<PrefillCache>(o.model->checkpoint->fingerprint(), cache);
  }
  o.resources = {o.model.get(), o.cache.get(), o.store.get(), o.index.get(), o.embedder.get(), args.has("--allow-random")};
  return o;
}

void print_sources(const std::vector<Citation>& citations, const PackedContext& context) {
  const auto cited = cited_sources(citations);
  if (cited.empty()) {
    std::cout << "\nSources: none of the passages supports the answer closely enough to cite\n";
    return;
  }
  std::cout << "\nSources:\n";
  for (int n : cited) {
    const SourcePassage* s = context.source(n);
    if (!s) continue;
    const auto c = std::find_if(citations.begin(), citations.end(), [&](const Citation& x) { return x.source == n; });
    std::cout << "  " << describe_source(*s) << "  [" << printable(s->path) << "]\n      \"" << c->quote << "\"\n";
  }
}

const char* stop_word(StopReason r) { return to_string(r); }

}  // namespace

int run_ask(const Argv& argv) {
  std::vector<std::string> flags = kCommonFlags;
  Args args(argv, flags);
  if (args.positional().size() != 1) throw UsageError("ask takes one question (quote it)");
  Opened o = open_all(args);
  InterruptScope interrupt;
  AskOptions options;
  options.document_ids = o.documents;
  options.answer_tokens = static_cast<int>(args.integer("--max-tokens", 256));
  options.context_budget = static_cast<std::size_t>(args.integer("--context", 0));
  options.cancel = interrupt.flag();
  const bool json = args.has("--json");
  if (!json) options.on_text = [](const std::string& piece) { std::cout << piece << std::flush; };
  if (!json && o.model) std::cerr << "[" << o.model->name << " on " << o.model->backend->name() << "]\n";
  const AskResult r = ask(o.resources, args.positional()[0], options);
  if (json) {
    nlohmann::ordered_json j = {
        {"question", args.positional()[0]},
        {"answer", r.answer},
        {"extractive", r.extractive},
        {"model", r.model},
        {"sources", sources_json(r.citations, r.context)},
        {"usage", {{"prompt_tokens", r.prompt_tokens}, {"cached_tokens", r.cached_tokens}, {"new_tokens", r.new_tokens},
                   {"answer_tokens", r.answer_tokens}, {"cache_tier", to_string(r.cache_tier)}}},
        {"timing", {{"seconds_to_first_token", r.seconds_to_first_token},
                    {"decode_tokens_per_second", r.decode_tokens_per_second}, {"seconds", r.seconds}}},
        {"whole_documents", r.context.whole_documents},
        {"stop", r.extractive ? "extractive" : stop_word(r.stop)},
        {"notices", r.notices}};
    std::cout << j.dump(2) << "\n";
  } else {
    if (r.extractive) std::cout << "\n(extractive answer: no language model)";
    std::cout << "\n";
    print_sources(r.citations, r.context);
    for (const auto& n : r.notices) std::cerr << "note: " << n << "\n";
    std::fprintf(stderr, "[prefill %zu tokens: %zu cached (%s), %zu new; first token after %.2f s; %.1f tokens/s; stopped: %s]\n",
                 r.prompt_tokens, r.cached_tokens, to_string(r.cache_tier), r.new_tokens, r.seconds_to_first_token,
                 r.decode_tokens_per_second, r.extractive ? "extractive" : stop_word(r.stop));
  }
  return r.stop == StopReason::cancelled ? 130 : 0;
}

int run_summarize(const Argv& argv) {
  std::vector<std::string> flags = kCommonFlags;
  flags.insert(flags.end(), {"--length", "--out"});
  Args args(argv, flags);
  if (args.positional().size() != 1) throw UsageError("summarize takes one document (a path in the store)");
  Opened o = open_all(args);
  const std::string path = fs::absolute(args.positional()[0]).string();
  const auto id = o.store->document_by_path(path);
  if (!id) throw UsageError(args.positional()[0] + " is not in the store (ingest it first: hyenadesk ingest PATH)");
  SummarizeOptions options;
  const std::string length = args.value("--length").value_or("medium");
  if (length == "short") options.length = SummaryLength::brief;
  else if (length == "long") options.length = SummaryLength::detailed;
  else if (length != "medium") throw UsageError("--length takes short, medium or long");
  options.context_budget = static_cast<std::size_t>(args.integer("--context", 0));
  InterruptScope interrupt;
  options.cancel = interrupt.flag();
  const bool tty = isatty(STDERR_FILENO);
  options.on_progress = [tty](int done, int total, double elapsed, double eta) {
    if (total <= 1) return;
    std::fprintf(stderr, tty ? "\r[section %d/%d] %.0f s, about %.0f s left   " : "[section %d/%d] %.0f s, about %.0f s left\n",
                 done + 1, total, elapsed, eta);
  };
  options.on_text = [](const std::string& piece) { std::cout << piece << std::flush; };
  const SummaryResult r = summarize(o.resources, *id, options);
  if (tty) std::fprintf(stderr, "\n");
  std::cout << "\n";
  if (r.partial) std::cout << "(stopped early: notes from " << r.sections_done << " of " << r.sections << " sections)\n";
  if (r.extractive) std::cout << "(extractive summary: no language model)\n";
  print_sources(r.citations, r.context);
  for (const auto& n : r.notices) std::cerr << "note: " << n << "\n";
  std::fprintf(stderr, "[summary of %s in %.1f s, %d section(s)]\n", path.c_str(), r.seconds, r.sections);
  if (auto out = args.value("--out")) {
    std::ofstream f(*out);
    f << "# Summary of " << r.context.documents.front().title << "\n\n" << r.summary << "\n\n## Sources\n\n";
    for (int n : cited_sources(r.citations)) {
      if (const SourcePassage* s = r.context.source(n)) f << "- " << describe_source(*s) << " (" << s->path << ")\n";
    }
    if (!f) throw std::runtime_error(*out + ": cannot write the summary");
    std::cerr << "summary written to " << *out << "\n";
  }
  return r.partial ? 130 : 0;
}

int run_chat(const Argv& argv) {
  Args args(argv, kCommonFlags);
  if (!args.positional().empty()) throw UsageError("chat takes no question on the command line; type it at the prompt");
  Opened o = open_all(args);
  Conversation chat(o.resources, o.documents);
  std::cerr << "chat with " << (o.model ? o.model->name : "no model") << " over "
            << (o.documents.empty() ? "the whole store" : std::to_string(o.documents.size()) + " document(s)")
            << ". /sources, /docs, /reset, /quit\n";
  AskResult last;
  std::string line;
  InterruptScope interrupt;
  while (true) {
    std::cout << "> " << std::flush;
    if (!std::getline(std::cin, line) || line == "/quit" || line == "/exit") break;
    if (line.empty()) continue;
    if (line == "/reset") {
      chat.reset();
      std::cout << "(new conversation)\n";
      continue;
    }
    if (line == "/sources") {
      print_sources(last.citations, last.context);
      continue;
    }
    if (line == "/docs") {
      for (const auto& d : chat.context().documents) std::cout << "  " << d.title << "  [" << printable(d.path) << "]\n";
      if (chat.context().documents.empty()) std::cout << "  (read at the first question)\n";
      continue;
    }
    AskOptions options;
    options.answer_tokens = static_cast<int>(args.integer("--max-tokens", 256));
    options.on_text = [](const std::string& piece) { std::cout << piece << std::flush; };
    options.cancel = interrupt.flag();
    last = chat.turn(line, options);
    std::cout << "\n";
    std::fprintf(stderr, "[%zu new tokens read, %zu in the conversation; first token after %.2f s]\n", last.new_tokens,
                 chat.position(), last.seconds_to_first_token);
  }
  return 0;
}

}  // namespace hd::cli
