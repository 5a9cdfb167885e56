// hyenadesk: the command-line face of HyenaDesk. Each command lives in commands_*.cpp.
#include <algorithm>
#include <exception>
#include <iostream>
#include <map>
#include <regex>
#include <set>

#include "args.h"
#include "hd/engine/cpu_threads.h"
#include "commands.h"

namespace {

using Command = int (*)(const hd::cli::Argv&);

// The options ask, summarize and chat share (commands_answer.cpp reads them for all three).
#define HD_ANSWER_OPTIONS                                                                               \
  "        [--models DIR] [--context N] [--threads N] [--device auto|cpu|cuda] [--embedder DIR]\n"        \
  "        [--no-cache] [--allow-random] [--gpu-cache-mb N] [--cache-mb N] [--disk-cache-mb N]\n"         \
  "                               prefill cache budgets per tier (defaults 2048 on a GPU, else\n"       \
  "                               0 / 4096 / 32768)\n"

struct Entry {
  Command run;
  const char* usage;
};

const std::map<std::string, Entry>& commands() {
  static const std::map<std::string, Entry> table = {
      {"version", {hd::cli::run_version, "version                      print the version"}},
      {"doctor", {hd::cli::run_doctor, "doctor [--store DIR]         show backends and the GPU this machine offers; with\n"
                                       "                               --store, check that store (SQLite integrity, full-text\n"
                                       "                               index, references, vectors against the FAISS index file;\n"
                                       "                               read-only, exit 1 when something is wrong)"}},
      {"mkmodel", {hd::cli::run_mkmodel,
                   "mkmodel --out DIR [--preset tiny|tiny-32k|tiny-mix|100m|7b | --config FILE] [--seed N]\n"
                   "        [--dtype bf16|f16|f32] [--shard-mb N] [--tokenizer FILE]\n"
                   "                               write a random-weight checkpoint in the HF layout"}},
      {"models", {hd::cli::run_models, "models [--models DIR] [--set-default NAME]\n"
                                       "                               the installed language models (pattern, size, context,\n"
                                       "                               tokenizer, chat template, licence); * marks the default"}},
      {"generate", {hd::cli::run_generate,
                    "generate [--model NAME|DIR] [--models DIR] --prompt TEXT [--chat] [--system TEXT] [--max-tokens N] [--temperature T] [--top-k K]\n"
                    "        [--top-p P] [--repeat-penalty R] [--seed N] [--stop TEXT] [--threads N] [--context N]\n"
                    "        [--backend auto|cpu|cuda]\n"
                    "                               continue a prompt with the model, streaming (auto: the GPU when\n"
                    "                               one is usable, else the CPU)"}},
      {"ingest", {hd::cli::run_ingest,
                  "ingest PATH... [--store DIR] [--prune] [--wait] [--tokenizer FILE] [--chunk-tokens N]\n"
                  "        [--embedder DIR | --no-embed] [--embed-device auto|cpu|cuda]\n"
                  "        [--stream-over-kb N] [--segment-kb N]  (plain text over N KiB, default 32768, is stored\n"
                  "                               in segments of N KiB, default 8192, in one transaction)\n"
                  "        [--file-seconds N] [--file-memory-mib N]  (per-file budget for reading, default 300 s\n"
                  "                               and 4096 MiB: a file past it is refused and the next one read)\n"
                  "                               read files and folders into the store, with embeddings and\n"
                  "                               the vector index (Ctrl-C stops; rerun resumes). One ingest\n"
                  "                               writes a store at a time: another exits 75 naming the\n"
                  "                               writer, or waits for it with --wait"}},
      {"search", {hd::cli::run_search, "search \"QUERY\" [-k N] [--store DIR] [--doc PATH] [--embedder DIR | --no-embed]\n"
                                       "        [--embed-device auto|cpu|cuda]\n"
                                       "                               ranked passages (full-text and vector search fused) with\n"
                                       "                               their document, section and page"}},
      {"ask", {hd::cli::run_ask,
               "ask \"QUESTION\" [--doc PATH]... [--json] [--model NAME|DIR] [--store DIR] [--max-tokens N]\n"
               HD_ANSWER_OPTIONS
               "                               answer from the documents (whole when they fit, else the best\n"
               "                               passages), streamed, with the sources it used and their pages"}},
      {"summarize", {hd::cli::run_summarize,
                     "summarize PATH [--length short|medium|long] [--out FILE] [--model NAME|DIR] [--store DIR]\n"
                     "        [--max-tokens N]\n" HD_ANSWER_OPTIONS
                     "                               summarize a stored document, section by section when it is\n"
                     "                               longer than the context (Ctrl-C keeps what is done)"}},
      {"chat", {hd::cli::run_chat, "chat [--doc PATH]... [--model NAME|DIR] [--store DIR] [--max-tokens N]\n" HD_ANSWER_OPTIONS
                                   "                               a conversation over the documents (/sources /docs /reset)"}},
#ifdef HD_HAVE_SERVE
      {"serve", {hd::cli::run_serve,
                 "serve [--host 127.0.0.1] [--port 4750] [--api-key KEY] [--model NAME|DIR] [--store DIR]\n"
                 "        [--models DIR] [--device auto|cpu|cuda] [--threads N] [--embedder DIR] [--queue N]\n"
                 "        [--max-body-kb N] [--max-tokens-limit N] [--cors-origin ORIGIN] [--allow-random]\n"
                 "        [--cache-mb N] [--gpu-cache-mb N] [--disk-cache-mb N]\n"
                 "                               the OpenAI API on localhost (chat, completions, embeddings,\n"
                 "                               models) with documents, sources and search (README: API server)"}},
#endif
      {"docs", {hd::cli::run_docs, "docs [--store DIR]             the stored documents and their status"}},
      {"model-info", {hd::cli::run_model_info,
                      "model-info DIR [--context N]  describe a model folder and the memory N tokens need"}},
  };
  return table;
}

// A command accepts the options its usage names, no others: one list, shown and enforced. Only
// tokens shaped like an option are checked ("--name", "--name=value", "-k"), so values such as
// "-1" or a prompt with spaces pass.
std::string unknown_option(const hd::cli::Argv& args, const std::string& usage) {
  static const std::regex long_option("^--[a-z][a-z0-9-]*"), short_option("^-[a-zA-Z]$"),
      named_in_usage("(^|[ \\[|])(--?[a-zA-Z][a-z0-9-]*)");
  std::set<std::string> known;
  for (std::sregex_iterator it(usage.begin(), usage.end(), named_in_usage), end; it != end; ++it) {
    known.insert((*it)[2]);
  }
  for (const std::string& a : args) {
    std::smatch m;
    std::string name;
    if (std::regex_search(a, m, long_option) && (m.length(0) == static_cast<long>(a.size()) || a[m.length(0)] == '=')) {
      name = m.str(0);
    } else if (std::regex_match(a, short_option)) {
      name = a;
    }
    if (!name.empty() && name != "--help" && !known.count(name)) return name;
  }
  return {};
}

void print_usage(std::ostream& out) {
  out << "usage: hyenadesk <command> [options]\n\ncommands:\n";
  for (const auto& [name, entry] : commands()) out << "  " << entry.usage << "\n";
}

}  // namespace

int main(int argc, char** argv) {
  hd::use_passive_openmp_wait(argv);  // see cpu_threads.h: OpenMP and OpenBLAS share the cores
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "help") {
    print_usage(argc < 2 ? std::cerr : std::cout);
    return argc < 2 ? 2 : 0;
  }
  auto it = commands().find(argv[1]);
  if (it == commands().end()) {
    std::cerr << "hyenadesk: unknown command \"" << argv[1] << "\"\n\n";
    print_usage(std::cerr);
    return 2;
  }
  const hd::cli::Argv args(argv + 2, argv + argc);
  if (std::find(args.begin(), args.end(), "--help") != args.end()) {
    std::cout << "usage: " << it->second.usage << "\n";
    return 0;
  }
  if (const std::string bad = unknown_option(args, it->second.usage); !bad.empty()) {
    std::cerr << "hyenadesk " << argv[1] << ": unknown option " << bad << "\nusage: " << it->second.usage << "\n";
    return 2;
  }
  try {
    return it->second.run(args);
  } catch (const hd::cli::UsageError& e) {
    std::cerr << "hyenadesk " << argv[1] << ": " << e.what() << "\nusage: " << it->second.usage << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "hyenadesk " << argv[1] << ": error: " << e.what() << "\n";
    return 1;
  }
}
