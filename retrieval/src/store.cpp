#include "hd/retrieval/store.h"

#include <sqlite3.h>

#include <chrono>
#include <thread>

#include "sqlite_util.h"

namespace hd {
namespace {

// Migrations, index i brings schema version i to i+1. Never edit a released step; append.
const char* const kMigrations[] = {
    // 0 -> 1: documents, chunks with full-text search, ingest runs.
    R"sql(
CREATE TABLE documents (
  id INTEGER PRIMARY KEY,
  content_hash TEXT NOT NULL UNIQUE,
  size_bytes INTEGER NOT NULL,
  format TEXT NOT NULL,
  title TEXT,
  status TEXT NOT NULL,
  error TEXT
);
CREATE TABLE document_paths (
  path TEXT PRIMARY KEY,
  document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
  mtime_ns INTEGER NOT NULL,
  size_bytes INTEGER NOT NULL
);
CREATE TABLE chunks (
  id INTEGER PRIMARY KEY,
  document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
  ordinal INTEGER NOT NULL,
  text TEXT NOT NULL,
  section_path TEXT,
  page_first INTEGER,
  page_last INTEGER,
  char_begin INTEGER NOT NULL,
  char_end INTEGER NOT NULL,
  token_count INTEGER NOT NULL,
  UNIQUE (document_id, ordinal)
);
CREATE VIRTUAL TABLE chunks_fts USING fts5(text, content='chunks', content_rowid='id');
CREATE TRIGGER chunks_ai AFTER INSERT ON chunks BEGIN
  INSERT INTO chunks_fts(rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER chunks_ad AFTER DELETE ON chunks BEGIN
  INSERT INTO chunks_fts(chunks_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
CREATE TABLE ingest_runs (
  id INTEGER PRIMARY KEY,
  started_at TEXT NOT NULL,
  finished_at TEXT,
  status TEXT NOT NULL,
  files_seen INTEGER NOT NULL DEFAULT 0,
  files_failed INTEGER NOT NULL DEFAULT 0
);
)sql",
    // 1 -> 2: chunk vectors (the source of truth the FAISS index is built from) and the record of
    // the index file that matches them. Every insert or delete of a vector bumps vectors_version,
    // and a new vector is stamped with the version it made (seq), so an index knows what it missed.
    R"sql(
CREATE TABLE store_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT INTO store_meta(key, value) VALUES ('vectors_version', 0);
CREATE TABLE chunk_vectors (
  chunk_id INTEGER PRIMARY KEY REFERENCES chunks(id) ON DELETE CASCADE,
  model_id TEXT NOT NULL,
  seq INTEGER NOT NULL DEFAULT 0,
  vector BLOB NOT NULL
);
CREATE INDEX chunk_vectors_seq ON chunk_vectors(seq);
CREATE TRIGGER chunk_vectors_ai AFTER INSERT ON chunk_vectors BEGIN
  UPDATE store_meta SET value = value + 1 WHERE key = 'vectors_version';
  UPDATE chunk_vectors SET seq = (SELECT value FROM store_meta WHERE key = 'vectors_version')
    WHERE chunk_id = new.chunk_id;
END;
CREATE TRIGGER chunk_vectors_ad AFTER DELETE ON chunk_vectors BEGIN
  UPDATE store_meta SET value = value + 1 WHERE key = 'vectors_version';
END;
CREATE TABLE vector_index (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  model_id TEXT NOT NULL,
  dimension INTEGER NOT NULL,
  generation INTEGER NOT NULL,
  file TEXT NOT NULL,
  file_bytes INTEGER NOT NULL,
  file_checksum TEXT NOT NULL,
  built_from_version INTEGER NOT NULL
);
)sql",
    // 2 -> 3: content identity becomes SHA-256 ("sha256:<hex>"). The FNV-1a 64 + length ids of
    // earlier versions could collide (two different files merged into one document), so they are
    // kept only as "fnv1a64:<old id>", never equal to a new id; ingest rehashes them from their
    // files (Store::legacy_hash_paths).
    R"sql(
UPDATE documents SET content_hash = 'fnv1a64:' || content_hash WHERE content_hash NOT LIKE 'sha256:%';
)sql",
};
constexpr int kMigrationCount = static_cast<int>(sizeof kMigrations / sizeof kMigrations[0]);
static_assert(kMigrationCount == Store::kSchemaVersion, "one migration per schema version");

}  // namespace

std::unique_ptr<Store> Store::open(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw StoreError(dir.string() + ": cannot create the store folder: " + ec.message());
  auto store = std::unique_ptr<Store>(new Store());
  store->dir_ = dir;
  const std::string path = store->database_path().string();
  if (sqlite3_open_v2(path.c_str(), &store->db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    std::string why = store->db_ ? sqlite3_errmsg(store->db_) : "out of memory";
    throw StoreError(path + ": cannot open the store database: " + why);
  }
  sqlite3* db = store->db_;
  sqlite3_busy_timeout(db, 5000);
  // A file that is not SQLite fails here, before anything is written to it. Switching a new file to
  // WAL takes an exclusive lock without waiting on the busy handler: when another connection is
  // opening the same new store at this moment, try again for up to the busy timeout.
  for (int attempt = 0;; ++attempt) {
    const int rc = sqlite3_exec(db, "PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr);
    if ((rc != SQLITE_BUSY && rc != SQLITE_LOCKED) || attempt == 500) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  sqlite::query_text(db, "PRAGMA journal_mode=WAL");
  sqlite::exec(db, "PRAGMA foreign_keys=ON; PRAGMA synchronous=FULL");

  int version = static_cast<int>(sqlite::query_int(db, "PRAGMA user_version"));
  if (version > kSchemaVersion) {
    throw StoreError(path + ": the store has schema version " + std::to_string(version) + ", newer than this " +
                     "program's " + std::to_string(kSchemaVersion) + "; use a newer HyenaDesk");
  }
  while (version < kSchemaVersion) {
    // Each step is one transaction: a crash leaves the store at the previous version. The version
    // is read again under the write lock, so two programs (or two threads) opening a new store at
    // once never run the same step twice: the second finds it done.
    sqlite::Transaction tx(db);
    version = static_cast<int>(sqlite::query_int(db, "PRAGMA user_version"));
    if (version >= kSchemaVersion) break;
    sqlite::exec(db, kMigrations[version]);
    sqlite::exec(db, "PRAGMA user_version=" + std::to_string(version + 1));
    tx.commit();
    ++version;
  }
  return store;
}

Store::~Store() {
  if (db_) sqlite3_close_v2(db_);
}

int Store::schema_version() const { return static_cast<int>(sqlite::query_int(db_, "PRAGMA user_version")); }
std::string Store::journal_mode() const { return sqlite::query_text(db_, "PRAGMA journal_mode"); }
long long Store::document_count() const { return sqlite::query_int(db_, "SELECT count(*) FROM documents"); }

}  // namespace hd
