#pragma once
// Small checked helpers over the SQLite C API; errors carry the database path and the SQL.
#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>

namespace hd::sqlite {

// The message of StoreCorrupt: what SQLite said and how to recover.
std::string corrupt_message(const std::string& database, const std::string& what);
void exec(sqlite3* db, const std::string& sql);
long long query_int(sqlite3* db, const std::string& sql);
std::string query_text(sqlite3* db, const std::string& sql);

// A prepared statement with positional binding (1-based) and row access.
class Statement {
 public:
  Statement(sqlite3* db, const std::string& sql);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  Statement& bind(int i, long long v);
  Statement& bind(int i, double v);
  Statement& bind(int i, const std::string& v);
  Statement& bind_null(int i);
  Statement& bind_blob(int i, const void* data, std::size_t bytes);
  bool step();  // true while a row is available
  void reset();  // ready to step again with new bindings
  void run();   // step to completion (INSERT/UPDATE/DELETE)
  long long integer(int col) const;
  double real(int col) const;
  std::string text(int col) const;
  bool is_null(int col) const;
  // The column's bytes; valid until the next step() or the statement's end.
  const void* blob(int col, std::size_t& bytes) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  std::string sql_;
};

// BEGIN IMMEDIATE ... COMMIT, rolled back if destroyed without commit() (an exception).
class Transaction {
 public:
  explicit Transaction(sqlite3* db);
  ~Transaction();
  void commit();

 private:
  sqlite3* db_;
  bool done_ = false;
};

}  // namespace hd::sqlite
