// Crash safety: `hyenadesk ingest` (with embeddings) killed (SIGKILL) at random points, many
// times, then run to the end. Afterwards SQLite is intact, the full-text index agrees with the
// chunks, every file is stored exactly once with its chunks (none missing, duplicated or
// orphaned), every chunk has its vector, and the saved FAISS index holds exactly those vectors.
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <random>
#include <thread>

#include "hd/engine/text_embedder.h"
#include "hd/retrieval/store.h"
#include "hd/retrieval/vector_index.h"
#include "support/embedder_model.h"
#include "support/temp_dir.h"

namespace hd {
namespace {

namespace fs = std::filesystem;

pid_t start_ingest(const fs::path& docs, const fs::path& store) {
  const pid_t pid = fork();
  if (pid == 0) {
    const int devnull = ::open("/dev/null", O_WRONLY);
    dup2(devnull, STDOUT_FILENO);
    dup2(devnull, STDERR_FILENO);
    const std::string embedder = test::embedder_dir().string();
    execl(HD_HYENADESK, HD_HYENADESK, "ingest", docs.c_str(), "--store", store.c_str(), "--chunk-tokens", "24",
          "--embedder", embedder.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  return pid;
}

// Files stored so far, or 0 when the store is not even created yet (killed before its
// first migration committed: a crash point too).
long long stored_paths(sqlite3* db) {
  sqlite3_stmt* s = nullptr;
  long long v = 0;
  if (sqlite3_prepare_v2(db, "SELECT count(*) FROM document_paths", -1, &s, nullptr) == SQLITE_OK &&
      sqlite3_step(s) == SQLITE_ROW) {
    v = sqlite3_column_int64(s, 0);
  }
  sqlite3_finalize(s);
  return v;
}

long long query(sqlite3* db, const char* sql) {
  sqlite3_stmt* s = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql, -1, &s, nullptr), SQLITE_OK) << sql;
  long long v = -1;
  if (sqlite3_step(s) == SQLITE_ROW) v = sqlite3_column_int64(s, 0);
  sqlite3_finalize(s);
  return v;
}

TEST(IngestCrash, KilledRunsLeaveAConsistentStoreThatTheNextRunCompletes) {
  HD_REQUIRE_EMBEDDER();
  test::TempDir dir;
  // A full run embeds ~240 chunks: about 3 s on 2 cores, after ~0.3 s loading the model; kills
  // between 0.2 and 3 s land before, during and (sometimes) after the files.
  const int files = 80;
  fs::create_directories(dir / "docs");
  for (int i = 0; i < files; ++i) {
    std::string text = "# Document " + std::to_string(i) + "\n\n";
    for (int p = 0; p < 3; ++p) text += "Paragraph " + std::to_string(p) + " of file " + std::to_string(i) + " holds unique word w" + std::to_string(i) + "x.\n\n";
    test::write_file(dir / "docs" / ("doc" + std::to_string(i) + ".md"), text);
  }
  std::mt19937 gen(7);
  std::uniform_int_distribution<int> delay_ms(200, 3000);
  int interrupted_midway = 0;
  for (int round = 0; round < 10; ++round) {
    const pid_t pid = start_ingest(dir / "docs", dir / "store");
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(gen)));
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    sqlite3* probe = nullptr;
    if (fs::exists(dir / "store" / "store.sqlite3") &&
        sqlite3_open_v2((dir / "store" / "store.sqlite3").c_str(), &probe, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
      sqlite3_busy_timeout(probe, 2000);
      const long long stored = stored_paths(probe);
      interrupted_midway += stored > 0 && stored < files;
    }
    sqlite3_close(probe);
  }
  ASSERT_GT(interrupted_midway, 0) << "no kill landed in the middle of an ingest: the test proved nothing";
  const pid_t pid = start_ingest(dir / "docs", dir / "store");
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0);

  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir / "store" / "store.sqlite3").c_str(), &db), SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &s, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(s), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(s, 0)), "ok");
  sqlite3_finalize(s);
  EXPECT_EQ(sqlite3_exec(db, "INSERT INTO chunks_fts(chunks_fts) VALUES('integrity-check')", nullptr, nullptr, nullptr),
            SQLITE_OK)
      << "the full-text index disagrees with the chunks: " << sqlite3_errmsg(db);
  EXPECT_EQ(query(db, "SELECT count(*) FROM document_paths"), files);
  EXPECT_EQ(query(db, "SELECT count(*) FROM documents"), files);
  EXPECT_EQ(query(db, "SELECT count(*) FROM documents d WHERE NOT EXISTS (SELECT 1 FROM chunks c WHERE c.document_id = d.id)"), 0)
      << "a document without chunks";
  EXPECT_EQ(query(db, "SELECT count(*) FROM chunks c WHERE NOT EXISTS (SELECT 1 FROM documents d WHERE d.id = c.document_id)"), 0)
      << "orphaned chunks";
  EXPECT_EQ(query(db, "SELECT count(*) FROM chunks c WHERE NOT EXISTS (SELECT 1 FROM chunk_vectors v WHERE v.chunk_id = c.id)"), 0)
      << "chunks without a vector";
  sqlite3_close(db);
  auto store = Store::open(dir / "store");
  {
    const auto embedder = TextEmbedder::open(test::embedder_dir());
    const auto index = VectorIndex::open(*store, embedder->model_id(), embedder->dimension());
    EXPECT_EQ(index->rebuild_reason(), "") << "the completed run left an index file that does not load";
    EXPECT_EQ(index->ids(), store->vector_chunk_ids()) << "FAISS and SQLite disagree";
    EXPECT_EQ(index->size(), store->chunk_count());
    EXPECT_EQ(index->applied_version(), store->vectors_version()) << "the saved index is behind the store";
  }
  for (int i : {0, 77, files - 1}) {
    auto hits = store->search_text("w" + std::to_string(i) + "x", 50);
    EXPECT_EQ(hits.size(), static_cast<std::size_t>(std::count_if(hits.begin(), hits.end(), [&](const SearchHit& h) {
                return h.path.find("doc" + std::to_string(i) + ".md") != std::string::npos;
              }))) << "file " << i << " appears under another path";
    EXPECT_FALSE(hits.empty()) << "file " << i << " is missing";
  }
}

}  // namespace
}  // namespace hd
