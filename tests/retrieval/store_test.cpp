// The store on a real SQLite file: created in WAL mode at the current schema version,
// reopened without change, and refused (untouched) when it is not ours to open.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <thread>
#include <vector>

#include "hd/retrieval/store.h"
#include "support/temp_dir.h"

namespace hd {
namespace {

using test::TempDir;

TEST(Store, CreatesDatabaseInWalModeAtCurrentSchema) {
  TempDir d;
  auto store = Store::open(d / "store");
  EXPECT_TRUE(std::filesystem::exists(store->database_path()));
  EXPECT_EQ(store->schema_version(), Store::kSchemaVersion);
  EXPECT_EQ(store->journal_mode(), "wal");
  EXPECT_EQ(store->document_count(), 0);
}

// The desktop app opens the store from two threads at start (ingest and engine): on a new store
// both must succeed, the migrations running once (before the fix the second failed with "table
// store_meta already exists").
TEST(Store, OpeningANewStoreFromSeveralThreadsAtOnceRunsEachMigrationOnce) {
  for (int round = 0; round < 100; ++round) {
    test::TempDir dir;
    std::vector<std::thread> threads;
    std::atomic<int> opened{0};
    std::vector<std::string> errors(4);
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        try {
          auto s = Store::open(dir / "store");
          if (s->schema_version() == Store::kSchemaVersion) ++opened;
        } catch (const std::exception& e) {
          errors[t] = e.what();
        }
      });
    }
    for (auto& th : threads) th.join();
    for (const auto& e : errors) EXPECT_EQ(e, "");
    ASSERT_EQ(opened.load(), 4) << "round " << round;
  }
}

TEST(Store, ReopeningKeepsDataAndVersion) {
  TempDir d;
  {
    auto store = Store::open(d / "store");
  }
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((d / "store" / "store.sqlite3").c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db,
                           "INSERT INTO documents(content_hash, size_bytes, format, status) "
                           "VALUES ('h1', 10, 'text', 'indexed')",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  auto store = Store::open(d / "store");
  EXPECT_EQ(store->document_count(), 1);
  EXPECT_EQ(store->schema_version(), Store::kSchemaVersion);
}

TEST(Store, RefusesNewerSchemaWithoutChangingIt) {
  TempDir d;
  { auto store = Store::open(d / "store"); }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((d / "store" / "store.sqlite3").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "PRAGMA user_version=99", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  try {
    Store::open(d / "store");
    FAIL() << "a newer schema must be refused";
  } catch (const StoreError& e) {
    EXPECT_NE(std::string(e.what()).find("schema version 99"), std::string::npos) << e.what();
  }
}

TEST(Store, RefusesAFileThatIsNotSqliteAndLeavesItIntact) {
  TempDir d;
  std::filesystem::create_directories(d / "store");
  const std::string junk = "this is a text file, not a database, and it is long enough to have a header";
  test::write_file(d / "store" / "store.sqlite3", junk);
  EXPECT_THROW(Store::open(d / "store"), StoreError);
  EXPECT_EQ(test::read_file(d / "store" / "store.sqlite3"), junk);
}

TEST(Store, FullTextIndexFollowsChunkInsertsAndDeletes) {
  TempDir d;
  auto store = Store::open(d / "store");
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(store->database_path().c_str(), &db), SQLITE_OK);
  auto count = [&](const char* sql) {
    sqlite3_stmt* s = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, sql, -1, &s, nullptr), SQLITE_OK);
    EXPECT_EQ(sqlite3_step(s), SQLITE_ROW);
    long long n = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return n;
  };
  ASSERT_EQ(sqlite3_exec(db,
                         "PRAGMA foreign_keys=ON;"
                         "INSERT INTO documents(id, content_hash, size_bytes, format, status) "
                         "VALUES (1, 'h', 1, 'text', 'indexed');"
                         "INSERT INTO chunks(document_id, ordinal, text, char_begin, char_end, token_count) "
                         "VALUES (1, 0, 'the modal recurrence of hyena filters', 0, 37, 7);",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  EXPECT_EQ(count("SELECT count(*) FROM chunks_fts WHERE chunks_fts MATCH 'recurrence'"), 1);
  ASSERT_EQ(sqlite3_exec(db, "DELETE FROM documents WHERE id = 1", nullptr, nullptr, nullptr), SQLITE_OK);
  EXPECT_EQ(count("SELECT count(*) FROM chunks"), 0) << "chunks go with their document";
  EXPECT_EQ(count("SELECT count(*) FROM chunks_fts WHERE chunks_fts MATCH 'recurrence'"), 0);
  sqlite3_close(db);
}

}  // namespace
}  // namespace hd
