// The hostile corpus (tests/hostile/make_hostile_corpus.py, small scale) ingested into a real
// store: every good file stored, every bad one refused or skipped with the reason the corpus
// names, in bounded memory; a second run stores nothing new and refuses the same files again.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "hd/app/ingest_folder.h"
#include "support/temp_dir.h"

namespace hd {
namespace {

namespace fs = std::filesystem;

std::size_t bytes_as_tokens(std::string_view s) { return (s.size() + 3) / 4; }

TEST(HostileCorpus, GoodFilesAreStoredAndEveryBadOneIsReportedWithItsReason) {
  test::TempDir d;
  const std::string make = "python3 '" + std::string(HD_SOURCE_DIR) + "/tests/hostile/make_hostile_corpus.py' '" +
                           (d / "corpus").string() + "' --scale small";
  ASSERT_EQ(std::system(make.c_str()), 0) << make;
  const nlohmann::json cases = nlohmann::json::parse(std::ifstream(d / "corpus" / "cases.json"));

  auto store = Store::open(d / "store");
  IngestOptions options;
  options.count_tokens = bytes_as_tokens;
  options.limits.max_inflated_bytes = 64u << 20;  // the small corpus's zip bomb inflates to 75 MiB
  const IngestSummary s = ingest_paths(*store, {d / "corpus" / "files"}, options);

  std::map<std::string, std::string> failed, skipped;
  for (const auto& [path, reason] : s.failures) failed[fs::path(path).filename().string()] = reason;
  for (const auto& [path, kind] : s.skipped) skipped[fs::path(path).filename().string()] = kind;
  std::size_t stored = 0;
  for (const auto& c : cases["cases"]) {
    const std::string file = c["file"], expect = c["expect"], reason = c["reason"];
    const std::string path = (d / "corpus" / "files" / file).string();
    SCOPED_TRACE(file + " (" + c["case"].get<std::string>() + ")");
    if (expect == "stored") {
      ++stored;
      EXPECT_FALSE(failed.count(file)) << failed[file];
      const auto record = store->path_record(path);
      ASSERT_TRUE(record.has_value());
      EXPECT_FALSE(record->failed);
    } else if (expect == "refused") {
      ASSERT_TRUE(failed.count(file));
      EXPECT_NE(failed[file].find(reason), std::string::npos) << failed[file];
    } else {
      ASSERT_TRUE(skipped.count(file));
      EXPECT_NE(skipped[file].find(reason), std::string::npos) << skipped[file];
    }
  }
  EXPECT_EQ(s.indexed, stored);
  EXPECT_EQ(s.failed, failed.size());

  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
#if defined(__SANITIZE_ADDRESS__)
  const long limit_kib = 4l << 20;  // the sanitizer's shadow memory and quarantine
#else
  const long limit_kib = 1l << 20;
#endif
  EXPECT_LT(usage.ru_maxrss, limit_kib) << "peak resident memory of the whole corpus, KiB";

  const IngestSummary again = ingest_paths(*store, {d / "corpus" / "files"}, options);
  EXPECT_EQ(again.indexed, 0u);
  EXPECT_EQ(again.unchanged, stored);
  EXPECT_EQ(again.failed, s.failed) << "refused files are tried again, and refused again";
}

}  // namespace
}  // namespace hd
