#include "sqlite_util.h"

#include <filesystem>

#include "hd/retrieval/crash_point.h"
#include "hd/retrieval/store.h"

namespace hd::sqlite {
namespace {

[[noreturn]] void fail(sqlite3* db, const std::string& sql) {
  const char* file = sqlite3_db_filename(db, "main");
  const std::string where = file ? file : "(store)";
  const int code = sqlite3_errcode(db) & 0xff;
  if (code == SQLITE_CORRUPT || code == SQLITE_NOTADB) throw StoreCorrupt(corrupt_message(where, sqlite3_errmsg(db)));
  throw StoreError(where + ": " + sqlite3_errmsg(db) + " (in: " + sql + ")");
}

}  // namespace

std::string corrupt_message(const std::string& database, const std::string& what) {
  const std::string dir = std::filesystem::path(database).parent_path().string();
  return database + ": the store's database is damaged (" + what + "); nothing more was written to it. Run "
         "`hyenadesk doctor --store " + dir + "` for the details; to recover, move the folder aside and ingest "
         "your documents again into a new store (the documents themselves are not touched)";
}

void exec(sqlite3* db, const std::string& sql) {
  char* message = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
    sqlite3_free(message);
    fail(db, sql);
  }
}

long long query_int(sqlite3* db, const std::string& sql) {
  Statement s(db, sql);
  if (!s.step()) fail(db, sql);
  return s.integer(0);
}

std::string query_text(sqlite3* db, const std::string& sql) {
  Statement s(db, sql);
  if (!s.step()) fail(db, sql);
  return s.text(0);
}

Statement::Statement(sqlite3* db, const std::string& sql) : db_(db), sql_(sql) {
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt_, nullptr) != SQLITE_OK) fail(db, sql);
}
Statement::~Statement() { sqlite3_finalize(stmt_); }

Statement& Statement::bind(int i, long long v) {
  if (sqlite3_bind_int64(stmt_, i, v) != SQLITE_OK) fail(db_, sql_);
  return *this;
}
Statement& Statement::bind(int i, double v) {
  if (sqlite3_bind_double(stmt_, i, v) != SQLITE_OK) fail(db_, sql_);
  return *this;
}
Statement& Statement::bind(int i, const std::string& v) {
  if (sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT) != SQLITE_OK) fail(db_, sql_);
  return *this;
}
Statement& Statement::bind_null(int i) {
  if (sqlite3_bind_null(stmt_, i) != SQLITE_OK) fail(db_, sql_);
  return *this;
}

bool Statement::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  fail(db_, sql_);
}
void Statement::run() {
  while (step()) {
  }
}
long long Statement::integer(int col) const { return sqlite3_column_int64(stmt_, col); }
double Statement::real(int col) const { return sqlite3_column_double(stmt_, col); }
void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

Statement& Statement::bind_blob(int i, const void* data, std::size_t bytes) {
  if (sqlite3_bind_blob(stmt_, i, data, static_cast<int>(bytes), SQLITE_TRANSIENT) != SQLITE_OK) fail(db_, sql_);
  return *this;
}
const void* Statement::blob(int col, std::size_t& bytes) const {
  const void* p = sqlite3_column_blob(stmt_, col);
  bytes = static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col));
  return p;
}

std::string Statement::text(int col) const {
  const unsigned char* t = sqlite3_column_text(stmt_, col);
  return t ? std::string(reinterpret_cast<const char*>(t), static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col)))
           : std::string();
}
bool Statement::is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

Transaction::Transaction(sqlite3* db) : db_(db) { exec(db, "BEGIN IMMEDIATE"); }
Transaction::~Transaction() {
  if (!done_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
}
void Transaction::commit() {
  crash_point("before-commit");
  exec(db_, "COMMIT");
  done_ = true;
  crash_point("after-commit");
}

}  // namespace hd::sqlite
