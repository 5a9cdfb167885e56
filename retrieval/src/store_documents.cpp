// The store's documents, paths and chunks, and full-text search over the chunks.
#include <sqlite3.h>

#include <cctype>

#include "hd/retrieval/store.h"
#include "sqlite_util.h"

namespace hd {
namespace {

// Drops `document_id` when no path refers to it any more (its chunks go with it).
void drop_if_orphaned(sqlite3* db, long long document_id) {
  sqlite::Statement(db, "DELETE FROM documents WHERE id = ?1 AND NOT EXISTS "
                        "(SELECT 1 FROM document_paths WHERE document_id = ?1)")
      .bind(1, document_id)
      .run();
}

void point_path(sqlite3* db, const std::string& path, long long mtime_ns, long long size, long long document_id) {
  std::optional<long long> previous;
  {
    sqlite::Statement q(db, "SELECT document_id FROM document_paths WHERE path = ?1");
    if (q.bind(1, path).step()) previous = q.integer(0);
  }
  sqlite::Statement(db, "INSERT INTO document_paths(path, document_id, mtime_ns, size_bytes) VALUES (?1, ?2, ?3, ?4) "
                        "ON CONFLICT(path) DO UPDATE SET document_id = ?2, mtime_ns = ?3, size_bytes = ?4")
      .bind(1, path)
      .bind(2, document_id)
      .bind(3, mtime_ns)
      .bind(4, size)
      .run();
  if (previous && *previous != document_id) drop_if_orphaned(db, *previous);
}

// The words of a query as an FTS5 expression: each quoted (no operator injection), any may match.
std::string fts_query(const std::string& query) {
  std::string out, word;
  auto flush = [&] {
    if (word.empty()) return;
    out += (out.empty() ? "\"" : " OR \"") + word + "\"";
    word.clear();
  };
  for (char c : query) {
    if (std::isalnum(static_cast<unsigned char>(c)) || (static_cast<unsigned char>(c) & 0x80)) word += c;
    else flush();
  }
  flush();
  return out;
}

}  // namespace

long long Store::chunk_count() const { return sqlite::query_int(db_, "SELECT count(*) FROM chunks"); }

std::optional<PathRecord> Store::path_record(const std::string& path) const {
  sqlite::Statement q(db_, "SELECT p.document_id, p.mtime_ns, p.size_bytes, d.status = 'failed' FROM document_paths p "
                           "JOIN documents d ON d.id = p.document_id WHERE p.path = ?1");
  if (!q.bind(1, path).step()) return std::nullopt;
  return PathRecord{q.integer(0), q.integer(1), q.integer(2), q.integer(3) != 0};
}

std::optional<long long> Store::document_by_hash(const std::string& hash) const {
  sqlite::Statement q(db_, "SELECT id FROM documents WHERE content_hash = ?1");
  if (!q.bind(1, hash).step()) return std::nullopt;
  return q.integer(0);
}

std::vector<std::pair<std::string, PathRecord>> Store::legacy_hash_paths() const {
  std::vector<std::pair<std::string, PathRecord>> out;
  sqlite::Statement q(db_, "SELECT p.path, p.document_id, p.mtime_ns, p.size_bytes FROM document_paths p "
                           "JOIN documents d ON d.id = p.document_id WHERE d.content_hash NOT LIKE 'sha256:%' ORDER BY p.path");
  while (q.step()) out.push_back({q.text(0), PathRecord{q.integer(1), q.integer(2), q.integer(3)}});
  return out;
}

bool Store::set_content_hash(long long document_id, const std::string& content_hash) {
  sqlite::Transaction tx(db_);
  if (document_by_hash(content_hash)) return false;
  sqlite::Statement(db_, "UPDATE documents SET content_hash = ?1 WHERE id = ?2").bind(1, content_hash).bind(2, document_id).run();
  tx.commit();
  return true;
}

struct DocumentWriter::Impl {
  sqlite3* db;
  sqlite::Transaction tx;
  std::string path;
  long long mtime_ns, size, id = 0, ordinal = 0;
  Impl(sqlite3* d, std::string p, long long m, long long sz) : db(d), tx(d), path(std::move(p)), mtime_ns(m), size(sz) {}
};

DocumentWriter::DocumentWriter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DocumentWriter::~DocumentWriter() = default;  // an uncommitted transaction rolls back
long long DocumentWriter::document_id() const { return impl_->id; }

void DocumentWriter::add_chunks(const std::vector<NewChunk>& chunks, const ChunkVectors* vectors) {
  if (vectors && vectors->values.size() != chunks.size() * static_cast<std::size_t>(vectors->dimension)) {
    throw StoreError(impl_->path + ": " + std::to_string(chunks.size()) + " chunks but " +
                     std::to_string(vectors->values.size()) + " vector values of dimension " +
                     std::to_string(vectors->dimension));
  }
  sqlite::Statement one(impl_->db, "INSERT INTO chunks(document_id, ordinal, text, section_path, page_first, page_last, "
                                   "char_begin, char_end, token_count) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
  sqlite::Statement vec(impl_->db, "INSERT INTO chunk_vectors(chunk_id, model_id, vector) VALUES (?1, ?2, ?3)");
  for (std::size_t i = 0; i < chunks.size(); ++i) {
    const NewChunk& c = chunks[i];
    one.reset();
    one.bind(1, impl_->id).bind(2, impl_->ordinal++).bind(3, c.text).bind(4, c.section_path);
    if (c.page_first) one.bind(5, static_cast<long long>(c.page_first)).bind(6, static_cast<long long>(c.page_last));
    else one.bind_null(5).bind_null(6);
    one.bind(7, c.char_begin).bind(8, c.char_end).bind(9, c.token_count).run();
    if (vectors) {
      const std::size_t d = static_cast<std::size_t>(vectors->dimension);
      vec.reset();
      vec.bind(1, static_cast<long long>(sqlite3_last_insert_rowid(impl_->db)))
          .bind(2, vectors->model_id)
          .bind_blob(3, vectors->values.data() + i * d, d * sizeof(float))
          .run();
    }
  }
}

long long DocumentWriter::commit() {
  point_path(impl_->db, impl_->path, impl_->mtime_ns, impl_->size, impl_->id);
  impl_->tx.commit();
  return impl_->id;
}

std::unique_ptr<DocumentWriter> Store::begin_document(const std::string& path, long long mtime_ns, const DocumentRecord& doc) {
  auto impl = std::make_unique<DocumentWriter::Impl>(db_, path, mtime_ns, doc.size);
  sqlite::Statement ins(db_, "INSERT INTO documents(content_hash, size_bytes, format, title, status, error) "
                             "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  ins.bind(1, doc.content_hash).bind(2, doc.size).bind(3, doc.format).bind(4, doc.title).bind(5, doc.status);
  if (doc.error.empty()) ins.bind_null(6);
  else ins.bind(6, doc.error);
  ins.run();
  impl->id = sqlite3_last_insert_rowid(db_);
  return std::unique_ptr<DocumentWriter>(new DocumentWriter(std::move(impl)));
}

long long Store::put_document(const std::string& path, long long mtime_ns, const DocumentRecord& doc,
                              const std::vector<NewChunk>& chunks, const ChunkVectors* vectors) {
  auto writer = begin_document(path, mtime_ns, doc);
  writer->add_chunks(chunks, vectors);
  return writer->commit();
}

void Store::link_path(const std::string& path, long long mtime_ns, long long size, long long document_id) {
  sqlite::Transaction tx(db_);
  point_path(db_, path, mtime_ns, size, document_id);
  tx.commit();
}

bool Store::forget_failed_document(long long document_id) {
  sqlite::Transaction tx(db_);
  if (sqlite::query_int(db_, "SELECT count(*) FROM documents WHERE id = " + std::to_string(document_id) +
                                 " AND status = 'failed'") == 0) {
    return false;
  }
  sqlite::Statement(db_, "DELETE FROM document_paths WHERE document_id = ?1").bind(1, document_id).run();
  drop_if_orphaned(db_, document_id);
  tx.commit();
  return true;
}

void Store::remove_path(const std::string& path) {
  sqlite::Transaction tx(db_);
  std::optional<long long> doc;
  {
    sqlite::Statement q(db_, "SELECT document_id FROM document_paths WHERE path = ?1");
    if (q.bind(1, path).step()) doc = q.integer(0);
  }
  sqlite::Statement(db_, "DELETE FROM document_paths WHERE path = ?1").bind(1, path).run();
  if (doc) drop_if_orphaned(db_, *doc);
  tx.commit();
}

std::vector<std::string> Store::paths() const {
  std::vector<std::string> out;
  sqlite::Statement q(db_, "SELECT path FROM document_paths ORDER BY path");
  while (q.step()) out.push_back(q.text(0));
  return out;
}

std::vector<StoredDocument> Store::documents() const {
  std::vector<StoredDocument> out;
  sqlite::Statement q(db_,
                      "SELECT d.id, p.path, d.format, coalesce(d.title, ''), d.status, coalesce(d.error, ''), "
                      "(SELECT count(*) FROM chunks c WHERE c.document_id = d.id) "
                      "FROM document_paths p JOIN documents d ON d.id = p.document_id ORDER BY p.path");
  while (q.step()) out.push_back({q.integer(0), q.text(1), q.text(2), q.text(3), q.text(4), q.text(5), q.integer(6)});
  return out;
}

std::vector<StoredChunk> Store::document_chunks(long long document_id) const {
  std::vector<StoredChunk> out;
  sqlite::Statement q(db_, "SELECT id, ordinal, text, coalesce(section_path, ''), coalesce(page_first, 0), coalesce(page_last, 0), "
                           "char_begin, char_end, token_count FROM chunks WHERE document_id = ?1 ORDER BY ordinal");
  q.bind(1, document_id);
  while (q.step()) {
    out.push_back({q.integer(0), q.integer(1), q.text(2), q.text(3), static_cast<int>(q.integer(4)),
                   static_cast<int>(q.integer(5)), q.integer(6), q.integer(7), q.integer(8)});
  }
  return out;
}

std::optional<StoredDocument> Store::document(long long document_id) const {
  sqlite::Statement q(db_,
                      "SELECT d.id, (SELECT min(path) FROM document_paths WHERE document_id = d.id), d.format, "
                      "coalesce(d.title, ''), d.status, coalesce(d.error, ''), "
                      "(SELECT count(*) FROM chunks c WHERE c.document_id = d.id) FROM documents d WHERE d.id = ?1");
  if (!q.bind(1, document_id).step()) return std::nullopt;
  return StoredDocument{q.integer(0), q.text(1), q.text(2), q.text(3), q.text(4), q.text(5), q.integer(6)};
}

std::optional<long long> Store::document_of_chunk(long long chunk_id) const {
  sqlite::Statement q(db_, "SELECT document_id FROM chunks WHERE id = ?1");
  if (!q.bind(1, chunk_id).step()) return std::nullopt;
  return q.integer(0);
}

namespace {
const char* const kHitColumns =
    "SELECT c.id, (SELECT min(path) FROM document_paths WHERE document_id = d.id), coalesce(d.title, ''), "
    "coalesce(c.section_path, ''), c.text, coalesce(c.page_first, 0), coalesce(c.page_last, 0)";

SearchHit hit_from(const sqlite::Statement& q) {
  return {q.integer(0), q.text(1), q.text(2), q.text(3), q.text(4), static_cast<int>(q.integer(5)),
          static_cast<int>(q.integer(6)), 0.0};
}
}  // namespace

std::vector<SearchHit> Store::search_text(const std::string& query, int k, std::optional<long long> document_id) const {
  std::vector<SearchHit> out;
  const std::string match = fts_query(query);
  if (match.empty() || k <= 0) return out;
  sqlite::Statement q(db_, std::string(kHitColumns) +
                               ", bm25(chunks_fts) AS score "
                               "FROM chunks_fts JOIN chunks c ON c.id = chunks_fts.rowid JOIN documents d ON d.id = c.document_id "
                               "WHERE chunks_fts MATCH ?1 AND (?3 IS NULL OR c.document_id = ?3) ORDER BY score LIMIT ?2");
  q.bind(1, match).bind(2, static_cast<long long>(k));
  if (document_id) q.bind(3, *document_id);
  else q.bind_null(3);
  while (q.step()) {
    SearchHit h = hit_from(q);
    h.score = q.real(7);
    out.push_back(std::move(h));
  }
  return out;
}

std::vector<SearchHit> Store::chunks_by_id(const std::vector<long long>& ids) const {
  std::vector<SearchHit> out;
  sqlite::Statement q(db_, std::string(kHitColumns) + " FROM chunks c JOIN documents d ON d.id = c.document_id WHERE c.id = ?1");
  for (long long id : ids) {
    q.reset();
    if (q.bind(1, id).step()) out.push_back(hit_from(q));
  }
  return out;
}

}  // namespace hd
