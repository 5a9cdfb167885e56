// Content identity: identical files are stored once, so the identity must never merge two
// different files. Two texts with equal FNV-1a 64 hashes and equal lengths (the identity before
// schema 3) stay two documents; a store of schema 2 is migrated and its documents rehashed.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include "hd/app/content_hash.h"
#include "hd/app/ingest_folder.h"
#include "hd/engine/hash.h"
#include "hd/ingest/document.h"
#include "support/temp_dir.h"

namespace hd {
namespace {

namespace fs = std::filesystem;

std::size_t bytes_as_tokens(std::string_view s) { return (s.size() + 3) / 4; }

// A collision of FNV-1a 64 between two 17-byte prefixes, found with Pollard's rho over
// "Code: " + 11 characters of [A-Za-z0-9-_] (about 1e10 hash evaluations, a few minutes on one
// core). The hash is a running one, so any common suffix keeps the collision.
const std::string kSuffix = " is the access code of this copy.\n\nBoth copies of the report are otherwise the same.\n";
const std::string kFirst = "Code: 0EGp1esrRGH" + kSuffix;
const std::string kSecond = "Code: VQZ3bn381eG" + kSuffix;

std::uint64_t fnv(const std::string& s) {
  Fnv1a64 h;
  h.update(s);
  return h.digest();
}

void exec(const fs::path& db_file, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_file.c_str(), &db), SQLITE_OK);
  char* error = nullptr;
  EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error), SQLITE_OK) << (error ? error : "");
  sqlite3_free(error);
  sqlite3_close(db);
}

TEST(ContentIdentity, TheFixtureIsAnFnvCollision) {
  ASSERT_NE(kFirst, kSecond);
  ASSERT_EQ(kFirst.size(), kSecond.size());
  EXPECT_EQ(fnv(kFirst), fnv(kSecond)) << "the two texts must collide under the old identity, or the next test proves nothing";
}

TEST(ContentIdentity, IsSha256OfTheBytes) {
  test::TempDir dir;
  test::write_file(dir / "abc.txt", "abc");
  // FIPS 180-2's test vector for "abc".
  EXPECT_EQ(hash_file_content(dir / "abc.txt").id, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(hash_file_content(dir / "abc.txt").bytes, 3u);
  EXPECT_EQ(content_id_of("abc"), hash_file_content(dir / "abc.txt").id);
  EXPECT_THROW(hash_file_content(dir / "missing.txt"), ReadError);
}

TEST(ContentIdentity, FilesWithEqualFnvHashesStayTwoDocuments) {
  test::TempDir dir;
  fs::create_directories(dir / "docs");
  test::write_file(dir / "docs" / "first.txt", kFirst);
  test::write_file(dir / "docs" / "second.txt", kSecond);
  auto store = Store::open(dir / "store");
  IngestOptions options;
  options.count_tokens = bytes_as_tokens;
  const IngestSummary s = ingest_paths(*store, {dir / "docs"}, options);
  EXPECT_EQ(s.indexed, 2u);
  EXPECT_EQ(s.duplicates, 0u);
  EXPECT_EQ(store->document_count(), 2);
  EXPECT_EQ(store->search_text("0EGp1esrRGH", 5).size(), 1u) << "the first file's text is lost";
  EXPECT_EQ(store->search_text("VQZ3bn381eG", 5).size(), 1u) << "the second file's text is lost";
}

TEST(ContentIdentity, AStoreOfSchema2IsMigratedAndRehashedSoAnIdenticalFileStillDeduplicates) {
  test::TempDir dir;
  fs::create_directories(dir / "docs");
  test::write_file(dir / "docs" / "report.txt", kFirst);
  IngestOptions options;
  options.count_tokens = bytes_as_tokens;
  {
    auto store = Store::open(dir / "store");
    ingest_paths(*store, {dir / "docs"}, options);
  }
  // Make it the store an older HyenaDesk wrote: schema 2, FNV-1a 64 + length as the identity.
  char legacy[40];
  std::snprintf(legacy, sizeof legacy, "%016llx-%zu", static_cast<unsigned long long>(fnv(kFirst)), kFirst.size());
  exec(dir / "store" / "store.sqlite3", "UPDATE documents SET content_hash = '" + std::string(legacy) + "'; PRAGMA user_version = 2;");

  auto store = Store::open(dir / "store");
  EXPECT_EQ(store->schema_version(), 3);
  ASSERT_EQ(store->legacy_hash_paths().size(), 1u);
  EXPECT_FALSE(store->document_by_hash(legacy)) << "an old identity must never match a new one";

  // The colliding file arrives, and an identical copy of the stored one.
  test::write_file(dir / "docs" / "other.txt", kSecond);
  test::write_file(dir / "docs" / "report-copy.txt", kFirst);
  const IngestSummary s = ingest_paths(*store, {dir / "docs"}, options);
  EXPECT_EQ(s.rehashed, 1u);
  EXPECT_TRUE(store->legacy_hash_paths().empty());
  EXPECT_TRUE(store->document_by_hash(content_id_of(kFirst)));
  EXPECT_EQ(s.indexed, 1u) << "the colliding file is a new document";
  EXPECT_EQ(s.duplicates, 1u) << "the copy of the rehashed document is recognised";
  EXPECT_EQ(store->document_count(), 2);
}

}  // namespace
}  // namespace hd
