// hyenadesk ingest / search / docs: the document store from the command line.
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "args.h"
#include "commands.h"
#include "interrupt.h"
#include "hd/app/format.h"
#include "hd/app/ingest_folder.h"
#include "hd/app/ingest_lock.h"
#include "hd/app/paths.h"
#include "hd/app/store_doctor.h"
#include "hd/engine/tokenizer.h"
#include "hd/retrieval/hybrid_search.h"

namespace hd::cli {
namespace {

std::filesystem::path store_dir(const Args& args) {
  return args.value("--store") ? std::filesystem::path(*args.value("--store")) : default_store_dir();
}

// Token counts come from the model's tokenizer when one is given or installed; otherwise an
// estimate (4 bytes a token), said out loud.
TokenCounter token_counter(const Args& args, std::shared_ptr<Tokenizer>& holder) {
  std::filesystem::path file;
  if (auto t = args.value("--tokenizer")) file = *t;
  else if (std::filesystem::exists(default_models_dir() / "tokenizer.json")) file = default_models_dir() / "tokenizer.json";
  if (!file.empty()) {
    holder = Tokenizer::from_file(file);
    return [tok = holder](std::string_view s) { return tok->encode(s, false).size(); };
  }
  std::cerr << "note: no tokenizer (--tokenizer FILE): chunk sizes are estimated at 4 bytes a token\n";
  return [](std::string_view s) { return (s.size() + 3) / 4; };
}

// The sentence-embedding model: --embedder DIR, else the one scripts/setup installs. Missing, it
// is said out loud and the command goes on with full-text search only; --no-embed skips it.
// ingest defaults to the GPU when there is one; search embeds one query, which the CPU does
// faster than the GPU can start.
std::unique_ptr<TextEmbedder> load_embedder(const Args& args, EmbedderDevice device) {
  if (args.has("--no-embed")) return nullptr;
  const std::filesystem::path dir =
      args.value("--embedder") ? std::filesystem::path(*args.value("--embedder")) : default_models_dir() / "all-minilm-l6-v2";
  if (!args.value("--embedder") && !std::filesystem::exists(dir / "model.safetensors")) {
    std::cerr << "note: no embedding model in " << dir.string() << " (scripts/setup installs it): full-text search only\n";
    return nullptr;
  }
  if (auto d = args.value("--embed-device")) {
    if (*d == "cpu") device = EmbedderDevice::cpu;
    else if (*d == "cuda") device = EmbedderDevice::cuda;
    else if (*d != "auto") throw UsageError("--embed-device takes auto, cpu or cuda");
  }
  return TextEmbedder::open(dir, device);  // an explicit --embedder that is broken is an error
}

}  // namespace

int run_ingest(const Argv& argv) {
  Args args(argv, {"--store", "--tokenizer", "--chunk-tokens", "--embedder", "--embed-device", "--stream-over-kb",
                   "--segment-kb", "--file-seconds", "--file-memory-mib"});
  if (args.positional().empty()) throw UsageError("ingest needs at least one file or folder");
  std::vector<std::filesystem::path> roots(args.positional().begin(), args.positional().end());
  for (const auto& r : roots) {
    if (!std::filesystem::exists(r)) throw UsageError(r.string() + " does not exist");
  }
  auto store = Store::open(store_dir(args));
  std::shared_ptr<Tokenizer> tokenizer;
  IngestOptions options;
  options.count_tokens = token_counter(args, tokenizer);
  const long long chunk_tokens = args.integer("--chunk-tokens", 256);
  if (chunk_tokens < 16 || chunk_tokens > 8192) {
    throw UsageError("--chunk-tokens takes 16 to 8192 tokens, got " + std::to_string(chunk_tokens));
  }
  options.chunks.max_tokens = static_cast<std::size_t>(chunk_tokens);
  options.prune = args.has("--prune");
  // Plain-text files above this size are stored segment by segment (bounded memory).
  const long long stream_over_kb = args.integer("--stream-over-kb", static_cast<long long>(options.stream_text_over_bytes >> 10));
  const long long segment_kb = args.integer("--segment-kb", static_cast<long long>(options.stream_segment_bytes >> 10));
  if (stream_over_kb < 1 || segment_kb < 1) throw UsageError("--stream-over-kb and --segment-kb take a size of at least 1");
  options.stream_text_over_bytes = static_cast<std::uint64_t>(stream_over_kb) << 10;
  options.stream_segment_bytes = static_cast<std::size_t>(segment_kb) << 10;
  // The per-file budget: a file whose reading takes longer or grows memory more is refused, and
  // the files after it are still read.
  const long long file_seconds = args.integer("--file-seconds", static_cast<long long>(options.limits.max_seconds));
  if (file_seconds < 1 || file_seconds > 86400) {
    throw UsageError("--file-seconds takes 1 to 86400 seconds, got " + std::to_string(file_seconds));
  }
  options.limits.max_seconds = static_cast<double>(file_seconds);
  const long long file_mib =
      args.integer("--file-memory-mib", static_cast<long long>(options.limits.max_memory_growth_bytes >> 20));
  if (file_mib < 64 || file_mib > (1 << 20)) {
    throw UsageError("--file-memory-mib takes 64 to 1048576 MiB, got " + std::to_string(file_mib));
  }
  options.limits.max_memory_growth_bytes = static_cast<std::uint64_t>(file_mib) << 20;
  const std::unique_ptr<TextEmbedder> embedder = load_embedder(args, EmbedderDevice::automatic);
  options.embedder = embedder.get();
  InterruptScope interrupt;
  options.cancel = interrupt.flag();
  const bool tty = isatty(STDERR_FILENO);
  options.on_progress = [tty](const IngestProgress& p) {
    if (!tty) return;
    const double mbps = p.seconds > 0 ? static_cast<double>(p.bytes_done) / (1 << 20) / p.seconds : 0;
    const double eta = mbps > 0 ? static_cast<double>(p.bytes_total - p.bytes_done) / (1 << 20) / mbps : 0;
    std::fprintf(stderr, "\r[%zu/%zu files] %zu chunks  %.1f MB/s  ETA %.0f s   ", p.files_done, p.files_total,
                 p.chunks, mbps, eta);
  };
  options.wait_for_writer = args.has("--wait");
  IngestSummary s;
  try {
    s = ingest_paths(*store, roots, options);
  } catch (const StoreBusy& e) {
    std::cerr << "hyenadesk ingest: " << e.what() << "; nothing was read (--wait waits for it)\n";
    return 75;  // EX_TEMPFAIL: try again later
  }
  if (tty) std::fprintf(stderr, "\n");
  std::cout << "ingested into " << store->dir().string() << " in " << s.seconds << " s: " << s.indexed << " new, "
            << s.unchanged << " unchanged, " << s.duplicates << " duplicate, " << s.failed << " failed, " << s.pruned
            << " pruned" << (s.skipped.empty() ? "" : ", " + std::to_string(s.skipped.size()) + " skipped") << (s.rehashed ? ", " + std::to_string(s.rehashed) + " given SHA-256 ids" : "") << (s.vanished ? ", " + std::to_string(s.vanished) + " vanished while reading" : "") << "\n";
  for (const auto& [format, t] : s.by_format) {
    std::cout << "  " << format << ": " << t.files << " file(s), " << t.chunks << " chunk(s), " << t.failed << " failed\n";
  }
  for (const auto& [path, reason] : s.failures) std::cout << "  failed: " << printable(reason) << "\n";
  for (const auto& [path, kind] : s.skipped) std::cout << "  skipped: " << printable(path) << ": " << kind << "\n";
  if (s.index_vectors >= 0) {
    std::cout << "  vectors: " << s.index_vectors << " in the index (" << embedder->model_id() << "), embedding on the "
              << embedder->device_name() << " took " << s.embed_seconds << " s";
    if (!s.index_rebuild_reason.empty()) std::cout << "; index rebuilt from the stored vectors: " << s.index_rebuild_reason;
    std::cout << "\n";
  }
  if (s.cancelled) {
    std::cout << "stopped early (Ctrl-C): nothing of the file being read was stored; run the same command again to "
                 "go on\n";
  }
  return s.cancelled ? 130 : 0;
}

int run_search(const Argv& argv) {
  Args args(argv, {"--store", "-k", "--embedder", "--doc", "--embed-device"});
  if (args.positional().size() != 1) throw UsageError("search takes one query (quote it)");
  auto store = Store::open(store_dir(args));
  HybridOptions options;
  options.k = static_cast<int>(args.integer("-k", 5));
  if (auto doc = args.value("--doc")) {
    options.document_id = store->document_by_path(std::filesystem::absolute(*doc).string());
    if (!options.document_id) throw UsageError(*doc + " is not in the store (see: hyenadesk docs)");
  }
  std::unique_ptr<TextEmbedder> embedder;
  std::unique_ptr<VectorIndex> index;
  if (store->vector_count() > 0 && (embedder = load_embedder(args, EmbedderDevice::cpu))) {
    index = VectorIndex::open(*store, embedder->model_id(), embedder->dimension());
  }
  const auto hits = hybrid_search(*store, index.get(), embedder.get(), args.positional()[0], options);
  if (hits.empty()) std::cout << "no passage matches\n";
  int rank = 0;
  for (const HybridHit& hit : hits) {
    const SearchHit& h = hit.chunk;
    // The section path usually starts at the title heading; show the title only when it does not.
    const bool path_has_title = h.section_path.compare(0, h.title.size(), h.title) == 0 && !h.title.empty();
    std::cout << ++rank << ". " << (path_has_title ? h.section_path : h.title);
    if (!path_has_title && !h.section_path.empty()) std::cout << " > " << h.section_path;
    if (h.page_first) std::cout << " (p. " << h.page_first << (h.page_last != h.page_first ? "-" + std::to_string(h.page_last) : "") << ")";
    std::cout << "  [" << printable(h.path) << "]\n   ";
    char scores[96];
    std::snprintf(scores, sizeof scores, "score %.4f (text #%d, vector #%d, cosine %.3f)", h.score, hit.text_rank,
                  hit.vector_rank, hit.cosine);
    std::cout << (embedder ? std::string(scores) : "full-text match") << "\n   ";
    std::string snippet = h.text.substr(0, 240);
    for (char& c : snippet) c = c == '\n' ? ' ' : c;
    std::cout << snippet << (h.text.size() > 240 ? "..." : "") << "\n";
  }
  return 0;
}

int check_store_command(const std::filesystem::path& dir) {
  if (!std::filesystem::exists(dir / "store.sqlite3")) throw UsageError(dir.string() + " holds no store");
  std::unique_ptr<Store> store;
  try {
    store = Store::open(dir);
  } catch (const StoreError& e) {
    std::cout << "FAILED  opening the store: " << printable(e.what()) << "\n";
    return 1;
  }
  bool all_ok = true;
  for (const StoreCheck& c : check_store(*store)) {
    std::cout << (c.ok ? "ok      " : "FAILED  ") << c.name << ": " << printable(c.result) << "\n";
    all_ok = all_ok && c.ok;
  }
  std::cout << (all_ok ? "the store is sound\n"
                       : "problems found: a damaged database cannot be repaired in place; move the store folder aside "
                         "and ingest the documents again into a new one\n");
  return all_ok ? 0 : 1;
}

int run_docs(const Argv& argv) {
  Args args(argv, {"--store"});
  auto store = Store::open(store_dir(args));
  const auto docs = store->documents();
  if (docs.empty()) std::cout << "the store is empty; add files with: hyenadesk ingest PATH...\n";
  for (const StoredDocument& d : docs) {
    std::cout << d.status << "  " << d.format << "  " << d.chunks << " chunks  " << printable(d.path);
    if (!d.error.empty()) std::cout << "\n    " << printable(d.error);
    std::cout << "\n";
  }
  return 0;
}

}  // namespace hd::cli
