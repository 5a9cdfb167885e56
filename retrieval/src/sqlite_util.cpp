#include "sqlite_util.h"

#include "hd/retrieval/store.h"

namespace hd::sqlite {
namespace {

[[noreturn]] void fail(sqlite3* db, const std::string& sql) {
  const char* file = sqlite3_db_filename(db, "main");
  throw StoreError(std::string(file ? file : "(store)") + ": " + sqlite3_errmsg(db) + " (in: " + sql + ")");
}

struct Statement {
  sqlite3_stmt* stmt = nullptr;
  ~Statement() { sqlite3_finalize(stmt); }
};

}  // namespace

void exec(sqlite3* db, const std::string& sql) {
  char* message = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
    sqlite3_free(message);
    fail(db, sql);
  }
}

long long query_int(sqlite3* db, const std::string& sql) {
  Statement s;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &s.stmt, nullptr) != SQLITE_OK) fail(db, sql);
  if (sqlite3_step(s.stmt) != SQLITE_ROW) fail(db, sql);
  return sqlite3_column_int64(s.stmt, 0);
}

std::string query_text(sqlite3* db, const std::string& sql) {
  Statement s;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &s.stmt, nullptr) != SQLITE_OK) fail(db, sql);
  if (sqlite3_step(s.stmt) != SQLITE_ROW) fail(db, sql);
  const unsigned char* t = sqlite3_column_text(s.stmt, 0);
  return t ? reinterpret_cast<const char*>(t) : "";
}

}  // namespace hd::sqlite
