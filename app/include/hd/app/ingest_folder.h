#pragma once
// Ingesting files and folders into the store: incremental (unchanged files are skipped by
// size and modification time), idempotent, one transaction per file (a kill loses at most
// the file in progress, and the next run redoes it), identical content stored once,
// failures recorded with their reason. With an embedder, each chunk's vector is stored with it
// and the FAISS index is brought up to date and saved at the end of the run (also after Ctrl-C).
// One ingest writes a store at a time (IngestLock): a second one waits or throws StoreBusy.
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "hd/engine/text_embedder.h"
#include "hd/ingest/chunker.h"
#include "hd/retrieval/store.h"

namespace hd {

struct IngestProgress {
  std::size_t files_done = 0, files_total = 0, chunks = 0;
  std::uint64_t bytes_done = 0, bytes_total = 0;
  double seconds = 0;
  std::string current;
};

struct FormatTally {
  std::size_t files = 0, chunks = 0, failed = 0;
};

struct IngestSummary {
  std::size_t indexed = 0, unchanged = 0, duplicates = 0, failed = 0, pruned = 0;
  std::size_t vanished = 0;  // listed, then gone before they could be read
  std::size_t rehashed = 0;  // documents of an older store given their SHA-256 content id
  std::size_t purged_states = 0;  // cached prefill states of changed or removed documents, deleted
  std::map<std::string, FormatTally> by_format;
  std::vector<std::pair<std::string, std::string>> failures;  // path, reason
  std::vector<std::pair<std::string, std::string>> skipped;   // path, kind: special files, unreadable folders
  bool cancelled = false;
  double seconds = 0;
  double embed_seconds = 0;         // of `seconds`, spent computing embeddings
  long long index_vectors = -1;     // vectors in the saved FAISS index; -1 without an embedder
  std::string index_rebuild_reason; // why the index was rebuilt from the stored vectors, if it was
};

struct IngestOptions {
  ChunkOptions chunks;
  ReadLimits limits;
  bool prune = false;                              // forget stored files under the roots that are gone
  TokenCounter count_tokens;                       // required
  const TextEmbedder* embedder = nullptr;          // null: text only, no vectors
  std::size_t embed_batch = 32;                    // chunks per embedder call
  // Plain-text files larger than this are read, chunked and stored in segments of
  // stream_segment_bytes, so memory stays bounded whatever their size.
  std::uint64_t stream_text_over_bytes = 32ull << 20;
  std::size_t stream_segment_bytes = 8u << 20;
  std::function<void(const IngestProgress&)> on_progress;
  const std::atomic<bool>* cancel = nullptr;
  // Another ingest writing the same store: wait for it (true) or throw StoreBusy (false).
  bool wait_for_writer = false;
};

IngestSummary ingest_paths(Store& store, const std::vector<std::filesystem::path>& roots, const IngestOptions& options);

}  // namespace hd
