// Integrity checks of the store's database: quick before every ingest writes, full for `doctor`.
#include "hd/retrieval/store.h"
#include "sqlite_util.h"

namespace hd {

void Store::check_not_corrupt() const {
  std::string result;
  try {
    result = sqlite::query_text(db_, "PRAGMA quick_check(1)");
  } catch (const StoreCorrupt&) {
    throw;
  } catch (const StoreError& e) {
    throw StoreCorrupt(sqlite::corrupt_message(database_path().string(), e.what()));
  }
  if (result != "ok") throw StoreCorrupt(sqlite::corrupt_message(database_path().string(), "quick_check: " + result));
}

std::vector<StoreCheck> Store::integrity_checks() const {
  std::vector<StoreCheck> out;
  auto run = [&](const std::string& name, auto&& check) {
    try {
      const std::string problem = check();
      out.push_back({name, problem.empty() ? "ok" : problem, problem.empty()});
    } catch (const StoreError& e) {
      out.push_back({name, e.what(), false});
    }
  };
  run("database (SQLite integrity_check)", [&] {
    std::string problems;
    sqlite::Statement q(db_, "PRAGMA integrity_check(20)");
    while (q.step()) {
      const std::string row = q.text(0);
      if (row != "ok") problems += (problems.empty() ? "" : "; ") + row;
    }
    return problems;
  });
  run("full-text index (FTS5 integrity-check)", [&] {
    sqlite::exec(db_, "INSERT INTO chunks_fts(chunks_fts, rank) VALUES('integrity-check', 1)");
    return std::string();
  });
  run("chunks and their documents", [&] {
    const long long orphans = sqlite::query_int(
        db_, "SELECT count(*) FROM chunks c WHERE NOT EXISTS (SELECT 1 FROM documents d WHERE d.id = c.document_id)");
    const long long unpointed = sqlite::query_int(
        db_, "SELECT count(*) FROM documents d WHERE NOT EXISTS (SELECT 1 FROM document_paths p WHERE p.document_id = d.id)");
    std::string problem;
    if (orphans) problem = std::to_string(orphans) + " chunk(s) of no document";
    if (unpointed) problem += (problem.empty() ? "" : "; ") + std::to_string(unpointed) + " document(s) no path refers to";
    return problem;
  });
  run("vectors", [&] {
    const long long orphans = sqlite::query_int(
        db_, "SELECT count(*) FROM chunk_vectors v WHERE NOT EXISTS (SELECT 1 FROM chunks c WHERE c.id = v.chunk_id)");
    return orphans ? std::to_string(orphans) + " vector(s) of no chunk" : std::string();
  });
  return out;
}

}  // namespace hd
