#include "hd/app/ingest_folder.h"

#include "hd/app/ingest_lock.h"

#include "hd/retrieval/crash_point.h"
#include "hd/retrieval/vector_index.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <optional>
#include <set>

#include "hd/app/content_hash.h"
#include "hd/app/paths.h"
#include "hd/engine/prefill_cache.h"
#include "hd/ingest/readers.h"
#include "hd/ingest/text_segments.h"

namespace hd {
namespace {

namespace fs = std::filesystem;

// What a listing found besides the files it will read: special files and folders it cannot
// enter, each with its kind, so nothing is skipped without a word.
const char* special_kind(const fs::file_status& st) {
  switch (st.type()) {
    case fs::file_type::fifo: return "named pipe (FIFO)";
    case fs::file_type::socket: return "socket";
    case fs::file_type::block: return "block device";
    case fs::file_type::character: return "character device";
    case fs::file_type::not_found: return "link to nothing (dangling)";
    default: return "special file";
  }
}

std::vector<fs::path> files_under(const std::vector<fs::path>& roots, std::vector<std::pair<std::string, std::string>>& skipped) {
  std::vector<fs::path> out;
  auto unreadable_folder = [&](const fs::path& p) {
    if (access(p.c_str(), R_OK | X_OK) == 0) return false;
    skipped.emplace_back(fs::absolute(p).string(), "folder cannot be read (permission denied); nothing in it was read");
    return true;
  };
  for (const fs::path& root : roots) {
    std::error_code ec;
    const fs::file_status st = fs::status(root, ec);
    if (fs::is_regular_file(st)) {
      out.push_back(fs::absolute(root));
      continue;
    }
    if (!fs::is_directory(st)) {
      skipped.emplace_back(fs::absolute(root).string(), special_kind(st));
      continue;
    }
    if (unreadable_folder(root)) continue;
    for (fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, ec), end;
         !ec && it != end; it.increment(ec)) {
      const bool hidden = it->path().filename().string().front() == '.';
      const fs::file_status entry = it->status(ec);  // a dangling link: not_found, with ec set
      ec.clear();
      if (fs::is_directory(entry)) {
        if (!hidden && unreadable_folder(it->path())) it.disable_recursion_pending();
      } else if (fs::is_regular_file(entry)) {
        if (!hidden) out.push_back(fs::absolute(it->path()));
      } else if (!hidden) {
        skipped.emplace_back(fs::absolute(it->path()).string(), special_kind(entry));
      }
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

long long mtime_ns(const fs::path& p) {
  std::error_code ec;
  return static_cast<long long>(fs::last_write_time(p, ec).time_since_epoch().count());
}

// Documents stored before content ids were SHA-256 get theirs from their file, when the file is
// still the one that was stored (same size and time); changed files are re-read anyway.
std::size_t rehash_legacy_documents(Store& store) {
  std::size_t rehashed = 0;
  for (const auto& [path, known] : store.legacy_hash_paths()) {
    std::error_code ec;
    const auto size = static_cast<long long>(fs::file_size(path, ec));
    if (ec || size != known.size || mtime_ns(path) != known.mtime_ns) continue;
    try {
      rehashed += store.set_content_hash(known.document_id, hash_file_content(path).id);
    } catch (const ReadError&) {
      // unreadable now: it keeps its legacy id, which no new file can match
    }
  }
  return rehashed;
}

}  // namespace

// Ctrl-C in the middle of a file: nothing of it is stored, so the next run reads it again.
struct IngestCancelled {};

// The content hash and the stored text must come from the same bytes: a file written to (or
// replaced) while it was hashed and read is refused, recorded as failed and read again next run.
static void refuse_if_changed(const fs::path& file, long long size, long long mtime) {
  std::error_code ec;
  const auto now = static_cast<long long>(fs::file_size(file, ec));
  if (ec) throw ReadError(file.string() + ": vanished while it was read (it is read again next run)");
  if (now != size || mtime_ns(file) != mtime) {
    throw ReadError(file.string() + ": changed while it was read (it is read again next run)");
  }
}

// Embeddings of a document's chunks, in batches; a cancel stops between batches.
static ChunkVectors embed_chunks(const TextEmbedder& embedder, const std::vector<NewChunk>& chunks, std::size_t batch,
                                 double& seconds, const std::atomic<bool>* cancel) {
  const auto t0 = std::chrono::steady_clock::now();
  ChunkVectors v{embedder.model_id(), embedder.dimension(), {}};
  v.values.reserve(chunks.size() * static_cast<std::size_t>(embedder.dimension()));
  for (std::size_t i = 0; i < chunks.size(); i += std::max<std::size_t>(1, batch)) {
    if (cancel && cancel->load()) throw IngestCancelled{};
    std::vector<std::string> texts;
    for (std::size_t j = i; j < std::min(chunks.size(), i + std::max<std::size_t>(1, batch)); ++j) texts.push_back(chunks[j].text);
    const std::vector<float> e = embedder.embed(texts);
    v.values.insert(v.values.end(), e.begin(), e.end());
    crash_point("embed-batch");
  }
  seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return v;
}

static NewChunk to_new_chunk(const Chunk& c, std::uint64_t offset) {
  return {c.text, c.section_path, c.page_first, c.page_last, static_cast<long long>(c.begin + offset),
          static_cast<long long>(c.end + offset), static_cast<long long>(c.tokens)};
}

// A large text file read, chunked, embedded and stored a segment at a time (memory stays the
// size of a segment), all in one transaction: a failure or a kill leaves nothing of it.
// on_segment(chunks stored so far, bytes read so far) reports progress. Returns the chunk count.
static std::size_t store_in_segments(Store& store, const fs::path& file, const std::string& path, long long size,
                                     long long mtime, DocumentRecord& rec, const IngestOptions& options, IngestSummary& summary,
                                     const std::function<void(std::size_t, std::uint64_t)>& on_segment) {
  TextSegments segments(file, options.stream_segment_bytes, options.limits);
  std::unique_ptr<DocumentWriter> writer;
  std::size_t total = 0;
  while (std::optional<Document> doc = segments.next()) {
    if (!writer) {
      rec.title = doc->title;
      writer = store.begin_document(path, mtime, rec);
    }
    std::vector<NewChunk> chunks;
    for (const Chunk& c : chunk_document(*doc, options.chunks, options.count_tokens)) {
      chunks.push_back(to_new_chunk(c, segments.segment_offset()));
    }
    if (options.embedder && !chunks.empty()) {
      const ChunkVectors vectors =
          embed_chunks(*options.embedder, chunks, options.embed_batch, summary.embed_seconds, options.cancel);
      writer->add_chunks(chunks, &vectors);
    } else {
      writer->add_chunks(chunks);
    }
    total += chunks.size();
    crash_point("segment-stored");
    on_segment(chunks.size(), segments.bytes_read());
    if (options.cancel && options.cancel->load()) throw IngestCancelled{};  // the writer rolls back
  }
  if (!writer) writer = store.begin_document(path, mtime, rec);
  refuse_if_changed(file, size, mtime);  // before the commit: the writer rolls back
  writer->commit();
  return total;
}

IngestSummary ingest_paths(Store& store, const std::vector<fs::path>& roots, const IngestOptions& given) {
  const auto start = std::chrono::steady_clock::now();
  IngestOptions options = given;
  options.limits.cancel = given.cancel;  // Ctrl-C reaches inside the reader of a long file
  IngestSummary summary;
  const IngestLock writer(store.dir(), options.wait_for_writer, options.cancel);
  if (!writer.held()) {  // cancelled while another ingest was writing
    summary.cancelled = true;
    return summary;
  }
  store.check_not_corrupt();  // a damaged database is reported, never written into
  summary.rehashed = rehash_legacy_documents(store);
  const std::vector<fs::path> files = files_under(roots, summary.skipped);
  IngestProgress progress;
  progress.files_total = files.size();
  for (const auto& f : files) {
    std::error_code ec;
    progress.bytes_total += fs::file_size(f, ec);
  }
  auto report = [&] {
    progress.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (options.on_progress) options.on_progress(progress);
  };

  for (const fs::path& file : files) {
    if (options.cancel && options.cancel->load()) {
      summary.cancelled = true;
      break;
    }
    progress.current = file.string();
    report();
    std::error_code ec;
    const auto size = static_cast<long long>(fs::file_size(file, ec));
    if (ec) {  // gone (or unreadable) since the folder was listed: nothing to store this time
      ++summary.vanished;
      ++progress.files_done;
      continue;
    }
    const long long mtime = mtime_ns(file);
    const std::string path = file.string();
    const auto known = store.path_record(path);
    if (known && known->mtime_ns == mtime && known->size == size && !known->failed) {
      ++summary.unchanged;
    } else {
      // A changed file: states of the old content can never match again (their tokens differ); free
      // their disk space now rather than when the cache's budget evicts them.
      if (known) summary.purged_states += purge_prefill_files(prefill_cache_dir(store.dir()), document_cache_tag(path));
      ContentHash content;
      try {
        content = hash_file_content(file);
      } catch (const ReadError& e) {  // nothing stored: it is read again next run
        summary.failures.emplace_back(path, e.what());
        ++summary.failed;
        ++progress.files_done;
        continue;
      }
      const std::string& hash = content.id;
      std::optional<long long> existing = store.document_by_hash(hash);
      if (existing && store.forget_failed_document(*existing)) existing.reset();  // a failure is read again
      if (existing) {
        store.link_path(path, mtime, size, *existing);
        ++summary.duplicates;
      } else {
        DocumentRecord rec{hash, to_string(detect_format(file).format), file.filename().string(), "indexed", "",
                           static_cast<long long>(content.bytes)};
        std::vector<NewChunk> chunks;
        std::size_t streamed_chunks = 0;
        bool streamed = false;
        try {
          if (TextSegments::applies(file, options.stream_text_over_bytes)) {
            streamed = true;  // a large text file: stored segment by segment, in one transaction
            rec.format = "text";
            streamed_chunks = store_in_segments(store, file, path, size, mtime, rec, options, summary, [&](std::size_t n, std::uint64_t b) {
              progress.chunks += n;
              progress.current = file.string() + " (" + std::to_string(b >> 20) + " MiB read)";
              report();
            });
          } else {
            Document doc = read_document(file, options.limits);
            rec.format = to_string(doc.format);
            rec.title = doc.title;
            for (const Chunk& c : chunk_document(doc, options.chunks, options.count_tokens)) {
              chunks.push_back(to_new_chunk(c, 0));
            }
            refuse_if_changed(file, size, mtime);
          }
          ++summary.indexed;
        } catch (const IngestCancelled&) {
          summary.cancelled = true;
          break;
        } catch (const ReadCancelled&) {
          summary.cancelled = true;
          break;
        } catch (const ReadError& e) {
          streamed = false;  // whatever the writer had stored was rolled back
          rec.status = "failed";
          rec.error = e.what();
          summary.failures.emplace_back(path, e.what());
          ++summary.failed;
        }
        FormatTally& t = summary.by_format[rec.format];
        ++t.files;
        t.chunks += streamed ? streamed_chunks : chunks.size();
        t.failed += rec.status == "failed";
        if (!streamed) {
          progress.chunks += chunks.size();
          if (options.embedder && !chunks.empty()) {
            std::optional<ChunkVectors> vectors;
            try {
              vectors = embed_chunks(*options.embedder, chunks, options.embed_batch, summary.embed_seconds, options.cancel);
            } catch (const IngestCancelled&) {
              --summary.indexed;  // counted when read; nothing of it is stored
              summary.cancelled = true;
              break;
            }
            store.put_document(path, mtime, rec, chunks, &*vectors);
          } else {
            store.put_document(path, mtime, rec, chunks);
          }
        }
      }
    }
    ++progress.files_done;
    progress.bytes_done += static_cast<std::uint64_t>(std::max(0LL, size));
  }
  report();

  if (options.prune && !summary.cancelled) {
    const std::set<std::string> seen = [&] {
      std::set<std::string> s;
      for (const auto& f : files) s.insert(f.string());
      return s;
    }();
    for (const std::string& p : store.paths()) {
      const bool under_root = std::any_of(roots.begin(), roots.end(), [&](const fs::path& r) {
        // Under it, not merely sharing its first letters: pruning "docs" must not touch "docs-old".
        const std::string root = fs::absolute(r).lexically_normal().string();
        const std::string folder = root.back() == '/' ? root : root + "/";
        return p == root || p.compare(0, folder.size(), folder) == 0;
      });
      // A folder that could not be read this time keeps what was stored from it.
      const bool under_skipped = std::any_of(summary.skipped.begin(), summary.skipped.end(), [&](const auto& sk) {
        return p.compare(0, sk.first.size() + 1, sk.first + "/") == 0;
      });
      if (under_root && !under_skipped && !seen.count(p)) {
        store.remove_path(p);
        summary.purged_states += purge_prefill_files(prefill_cache_dir(store.dir()), document_cache_tag(p));
        ++summary.pruned;
      }
    }
  }
  if (options.embedder) {  // the index catches up with this run's vectors and is saved
    auto index = VectorIndex::open(store, options.embedder->model_id(), options.embedder->dimension());
    index->save();
    summary.index_vectors = index->size();
    summary.index_rebuild_reason = index->rebuild_reason();
  }
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return summary;
}

}  // namespace hd
