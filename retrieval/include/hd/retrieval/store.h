#pragma once
// The document store: one SQLite database (WAL mode) in the store folder, with a
// versioned schema that is migrated forward on open and refused when it is newer than
// this program understands.
#include <filesystem>
#include <functional>
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

// The database file is damaged (SQLITE_CORRUPT, SQLITE_NOTADB, a failed integrity check): nothing
// more is written into it; the message says how to recover.
class StoreCorrupt : public StoreError {
 public:
  using StoreError::StoreError;
};

// What `hyenadesk doctor` found: each check by name, with "ok" or what is wrong.
struct StoreCheck {
  std::string name, result;
  bool ok = true;
};

struct PathRecord {
  long long document_id = 0;
  long long mtime_ns = 0, size = 0;
  bool failed = false;  // its document could not be read: it is tried again on the next ingest
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

// A chunk's embedding as stored: `dimension` floats made by the model `model_id`.
struct ChunkVectors {
  std::string model_id;
  int dimension = 0;
  std::vector<float> values;  // one row of `dimension` per chunk, in chunk order
};

// The FAISS index file that matches the stored vectors as of `built_from_version`.
struct VectorIndexRecord {
  std::string model_id, file;
  int dimension = 0;
  long long generation = 0, built_from_version = 0;
  long long file_bytes = 0;
  std::string file_checksum;  // FNV-1a 64 of the file, hex: a damaged file is known before it is parsed
};

// One stored chunk with where it sits in its document (byte offsets into the document's text;
// neighbouring chunks of a section overlap).
struct StoredChunk {
  long long id = 0, ordinal = 0;
  std::string text, section_path;
  int page_first = 0, page_last = 0;
  long long char_begin = 0, char_end = 0, token_count = 0;
};

struct SearchHit {
  long long chunk_id = 0;
  std::string path, title, section_path, text;
  int page_first = 0, page_last = 0;
  double score = 0;  // BM25 (lower is better, as SQLite reports it)
};

// A document written in pieces (a file too large to hold its chunks in memory at once): one
// transaction from begin_document() to commit(); destroyed without commit(), nothing of it stays.
class DocumentWriter {
 public:
  ~DocumentWriter();
  void add_chunks(const std::vector<NewChunk>& chunks, const ChunkVectors* vectors = nullptr);
  long long commit();  // points the path at the document; returns its id
  long long document_id() const;

 private:
  friend class Store;
  struct Impl;
  explicit DocumentWriter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

class Store {
 public:
  // The schema version this build writes.
  static constexpr int kSchemaVersion = 3;

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
  // With `vectors`, each chunk's embedding is stored in the same transaction.
  long long put_document(const std::string& path, long long mtime_ns, const DocumentRecord& doc,
                         const std::vector<NewChunk>& chunks, const ChunkVectors* vectors = nullptr);
  // The same, chunks added in pieces. One writer at a time per store.
  std::unique_ptr<DocumentWriter> begin_document(const std::string& path, long long mtime_ns, const DocumentRecord& doc);
  // Paths whose document still has a content id from before schema 3 (not SHA-256), with the
  // size and time they were stored with, so an unchanged file can be rehashed.
  std::vector<std::pair<std::string, PathRecord>> legacy_hash_paths() const;
  // Gives a document a new content id (rehash of a legacy id). Returns false, changing nothing,
  // when another document already has that id.
  bool set_content_hash(long long document_id, const std::string& content_hash);
  // Points `path` at an existing document (identical content at another path).
  void link_path(const std::string& path, long long mtime_ns, long long size, long long document_id);
  // A document recorded as failed, with every path pointing at it, so that its file can be read
  // again (its content id is free for the new record). Returns false, changing nothing, for a
  // document that was read.
  bool forget_failed_document(long long document_id);
  // Forgets `path`, and its document when no other path refers to it.
  void remove_path(const std::string& path);
  std::vector<std::string> paths() const;
  // SQLite's quick_check (pages and indexes readable, proportional to the file's size): throws
  // StoreCorrupt when it fails. Ingest runs it before writing.
  void check_not_corrupt() const;
  // The database's full checks: SQLite integrity_check, the full-text index against the chunks,
  // every chunk's vector present once per embedder. The vector index file is checked by the caller.
  std::vector<StoreCheck> integrity_checks() const;
  std::vector<StoredDocument> documents() const;
  // Full-text search (FTS5, BM25) over chunk text; any word of `query` may match.
  // With `document_id`, only that document's chunks.
  std::vector<SearchHit> search_text(const std::string& query, int k, std::optional<long long> document_id = {}) const;
  // The chunks `ids` with their document (score 0), in the order given; unknown ids are skipped.
  std::vector<SearchHit> chunks_by_id(const std::vector<long long>& ids) const;

  // Vectors (store_vectors.cpp).
  long long vectors_version() const;
  long long vector_count() const;
  // Model ids the stored vectors were made with (more than one means a model changed).
  std::vector<std::string> vector_models() const;
  // Calls fn(chunk_id, seq, values) for every vector with seq > after_seq, by chunk id.
  void for_each_vector(long long after_seq,
                       const std::function<void(long long chunk_id, long long seq, const float* v, std::size_t n)>& fn) const;
  // Every chunk id that has a vector, ascending.
  std::vector<long long> vector_chunk_ids() const;
  // One document's vectors, for exact search inside it.
  std::vector<std::pair<long long, std::vector<float>>> document_vectors(long long document_id) const;
  std::optional<VectorIndexRecord> vector_index_record() const;
  void set_vector_index_record(const VectorIndexRecord& r);
  std::optional<long long> document_by_path(const std::string& path) const;
  // A document's chunks in reading order, and its record (the first path that refers to it).
  std::vector<StoredChunk> document_chunks(long long document_id) const;
  std::optional<StoredDocument> document(long long document_id) const;
  std::optional<long long> document_of_chunk(long long chunk_id) const;
  // Runs fn inside one read transaction: every query in it sees the same snapshot.
  void read_consistently(const std::function<void()>& fn) const;

 private:
  Store() = default;
  std::filesystem::path dir_;
  sqlite3* db_ = nullptr;
};

}  // namespace hd
