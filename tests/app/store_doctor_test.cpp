// A damaged store database is detected, not written into: ingest stops with StoreCorrupt and a
// message saying how to recover; the doctor's checks pass on a sound store and name the failure
// on a damaged one; a vector index file behind the stored vectors is named.
#include <gtest/gtest.h>

#include <fstream>

#include "hd/app/ingest_folder.h"
#include "hd/app/store_doctor.h"
#include "support/temp_dir.h"

namespace hd {
namespace {

namespace fs = std::filesystem;

std::size_t bytes_as_tokens(std::string_view s) { return (s.size() + 3) / 4; }

IngestOptions text_only() {
  IngestOptions o;
  o.count_tokens = bytes_as_tokens;
  o.chunks.max_tokens = 32;
  return o;
}

bool all_ok(const std::vector<StoreCheck>& checks) {
  for (const auto& c : checks) {
    if (!c.ok) return false;
  }
  return true;
}

// Overwrites `bytes` bytes in the middle of the file, as a failing disk or a stray write would.
void scribble_over_the_middle(const fs::path& file, std::size_t bytes) {
  const auto size = fs::file_size(file);
  std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(static_cast<std::streamoff>(size / 2));
  const std::string garbage(bytes, '\x55');
  f.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
}

TEST(StoreDoctor, ASoundStorePassesEveryCheck) {
  test::TempDir d;
  fs::copy(fs::path(HD_SOURCE_DIR) / "samples", d / "docs", fs::copy_options::recursive);
  auto store = Store::open(d / "store");
  ingest_paths(*store, {d / "docs"}, text_only());
  EXPECT_NO_THROW(store->check_not_corrupt());
  const auto checks = check_store(*store);
  EXPECT_TRUE(all_ok(checks));
  EXPECT_GE(checks.size(), 4u);
}

TEST(StoreDoctor, GarbageInTheDatabaseStopsIngestAndTheDoctorNamesIt) {
  test::TempDir d;
  fs::copy(fs::path(HD_SOURCE_DIR) / "samples", d / "docs", fs::copy_options::recursive);
  {
    auto store = Store::open(d / "store");
    ingest_paths(*store, {d / "docs"}, text_only());
  }  // closed: the write-ahead log is folded into the database file
  ASSERT_FALSE(fs::exists(d / "store" / "store.sqlite3-wal") && fs::file_size(d / "store" / "store.sqlite3-wal") > 0);
  scribble_over_the_middle(d / "store" / "store.sqlite3", 8192);
  test::write_file(d / "docs" / "new.txt", "A new file that must not be written into a damaged store.\n");
  const auto before = fs::file_size(d / "store" / "store.sqlite3");

  auto store = Store::open(d / "store");  // its first page is sound: the damage is further in
  try {
    ingest_paths(*store, {d / "docs"}, text_only());
    FAIL() << "ingest wrote into a damaged database";
  } catch (const StoreCorrupt& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("the store's database is damaged"), std::string::npos) << what;
    EXPECT_NE(what.find("hyenadesk doctor --store"), std::string::npos) << what;
  }
  EXPECT_EQ(fs::file_size(d / "store" / "store.sqlite3"), before);
  EXPECT_FALSE(all_ok(check_store(*store)));
}

}  // namespace
}  // namespace hd
