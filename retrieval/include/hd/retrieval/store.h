#pragma once
// The document store: one SQLite database (WAL mode) in the store folder, with a
// versioned schema that is migrated forward on open and refused when it is newer than
// this program understands.
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

struct sqlite3;

namespace hd {

class StoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct PathRecord {
  long long document_id = 0;
  long long mtime_ns = 0, size = 0;
};

struct NewChunk {
  std::string text, section_path;
  int page_first = 0, page_last = 0;
  long long char_begin = 0, char_end = 0, token_count = 0;
};

// What a document came to be: indexed, or failed with the reason.
struct DocumentRecord {
  std::string content_hash, format, title, status, error;
  long long size = 0;
};

struct StoredDocument {
  long long id = 0;
  std::string path, format, title, status, error;
  long long chunks = 0;
};

struct SearchHit {
  long long chunk_id = 0;
  std::string path, title, section_path, text;
  int page_first = 0, page_last = 0;
  double score = 0;  // BM25 (lower is better, as SQLite reports it)
};

class Store {
 public:
  // The schema version this build writes.
  static constexpr int kSchemaVersion = 1;

  // Opens (creating when missing) the store in `dir`; migrates older schemas.
  static std::unique_ptr<Store> open(const std::filesystem::path& dir);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path database_path() const { return dir_ / "store.sqlite3"; }
  int schema_version() const;
  std::string journal_mode() const;
  long long document_count() const;
  long long chunk_count() const;

  std::optional<PathRecord> path_record(const std::string& path) const;
  std::optional<long long> document_by_hash(const std::string& content_hash) const;
  // Stores a document and its chunks and points `path` at it, in one transaction; whatever
  // `path` held before is dropped when no other path refers to it.
  long long put_document(const std::string& path, long long mtime_ns, const DocumentRecord& doc,
                         const std::vector<NewChunk>& chunks);
  // Points `path` at an existing document (identical content at another path).
  void link_path(const std::string& path, long long mtime_ns, long long size, long long document_id);
  // Forgets `path`, and its document when no other path refers to it.
  void remove_path(const std::string& path);
  std::vector<std::string> paths() const;
  std::vector<StoredDocument> documents() const;
  // Full-text search (FTS5, BM25) over chunk text; any word of `query` may match.
  std::vector<SearchHit> search_text(const std::string& query, int k) const;

 private:
  Store() = default;
  std::filesystem::path dir_;
  sqlite3* db_ = nullptr;
};

}  // namespace hd
