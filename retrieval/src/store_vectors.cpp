// The store's chunk vectors and the record of the FAISS index file built from them.
#include <sqlite3.h>

#include <cstring>

#include "hd/retrieval/store.h"
#include "sqlite_util.h"

namespace hd {

long long Store::vectors_version() const {
  return sqlite::query_int(db_, "SELECT value FROM store_meta WHERE key = 'vectors_version'");
}

long long Store::vector_count() const { return sqlite::query_int(db_, "SELECT count(*) FROM chunk_vectors"); }

std::vector<std::string> Store::vector_models() const {
  std::vector<std::string> out;
  sqlite::Statement q(db_, "SELECT DISTINCT model_id FROM chunk_vectors ORDER BY model_id");
  while (q.step()) out.push_back(q.text(0));
  return out;
}

void Store::for_each_vector(long long after_seq,
                            const std::function<void(long long, long long, const float*, std::size_t)>& fn) const {
  sqlite::Statement q(db_, "SELECT chunk_id, seq, vector FROM chunk_vectors WHERE seq > ?1 ORDER BY chunk_id");
  q.bind(1, after_seq);
  std::vector<float> row;
  while (q.step()) {
    std::size_t bytes = 0;
    const void* data = q.blob(2, bytes);
    row.resize(bytes / sizeof(float));
    if (bytes) std::memcpy(row.data(), data, row.size() * sizeof(float));  // blobs need not be float-aligned
    fn(q.integer(0), q.integer(1), row.data(), row.size());
  }
}

std::vector<long long> Store::vector_chunk_ids() const {
  std::vector<long long> out;
  sqlite::Statement q(db_, "SELECT chunk_id FROM chunk_vectors ORDER BY chunk_id");
  while (q.step()) out.push_back(q.integer(0));
  return out;
}

std::vector<std::pair<long long, std::vector<float>>> Store::document_vectors(long long document_id) const {
  std::vector<std::pair<long long, std::vector<float>>> out;
  sqlite::Statement q(db_, "SELECT v.chunk_id, v.vector FROM chunk_vectors v JOIN chunks c ON c.id = v.chunk_id "
                           "WHERE c.document_id = ?1 ORDER BY v.chunk_id");
  q.bind(1, document_id);
  while (q.step()) {
    std::size_t bytes = 0;
    const void* data = q.blob(1, bytes);
    std::vector<float> v(bytes / sizeof(float));
    if (bytes) std::memcpy(v.data(), data, v.size() * sizeof(float));
    out.emplace_back(q.integer(0), std::move(v));
  }
  return out;
}

std::optional<VectorIndexRecord> Store::vector_index_record() const {
  sqlite::Statement q(db_, "SELECT model_id, file, dimension, generation, built_from_version, file_bytes, file_checksum "
                           "FROM vector_index WHERE id = 1");
  if (!q.step()) return std::nullopt;
  return VectorIndexRecord{q.text(0),    q.text(1),    static_cast<int>(q.integer(2)), q.integer(3), q.integer(4),
                           q.integer(5), q.text(6)};
}

void Store::set_vector_index_record(const VectorIndexRecord& r) {
  sqlite::Transaction tx(db_);
  sqlite::Statement(db_, "INSERT INTO vector_index(id, model_id, dimension, generation, file, built_from_version, "
                         "file_bytes, file_checksum) VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT(id) DO UPDATE "
                         "SET model_id = ?1, dimension = ?2, generation = ?3, file = ?4, built_from_version = ?5, "
                         "file_bytes = ?6, file_checksum = ?7")
      .bind(1, r.model_id)
      .bind(2, static_cast<long long>(r.dimension))
      .bind(3, r.generation)
      .bind(4, r.file)
      .bind(5, r.built_from_version)
      .bind(6, r.file_bytes)
      .bind(7, r.file_checksum)
      .run();
  tx.commit();
}

std::optional<long long> Store::document_by_path(const std::string& path) const {
  sqlite::Statement q(db_, "SELECT document_id FROM document_paths WHERE path = ?1");
  if (!q.bind(1, path).step()) return std::nullopt;
  return q.integer(0);
}

void Store::read_consistently(const std::function<void()>& fn) const {
  sqlite::exec(db_, "BEGIN DEFERRED");
  try {
    fn();
  } catch (...) {
    sqlite::exec(db_, "ROLLBACK");
    throw;
  }
  sqlite::exec(db_, "COMMIT");
}

}  // namespace hd
