#pragma once
// Small checked helpers over the SQLite C API; errors carry the database path and the SQL.
#include <sqlite3.h>

#include <string>

namespace hd::sqlite {

void exec(sqlite3* db, const std::string& sql);
long long query_int(sqlite3* db, const std::string& sql);
std::string query_text(sqlite3* db, const std::string& sql);

}  // namespace hd::sqlite
