// A 200 MB plain-text file goes through `hyenadesk ingest` with memory bounded by the segment
// size, not the file (peak RSS of the child process, from wait4); its first and last passages
// are searchable with the right offsets. A large file with invalid UTF-8 in the middle fails
// cleanly: reported with its byte range, nothing of it stored but the failure.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <fstream>

#include "hd/retrieval/store.h"
#include "support/temp_dir.h"

namespace hd {
namespace {

namespace fs = std::filesystem;

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitized = true;  // ASan's shadow memory makes RSS meaningless
#else
constexpr bool kSanitized = false;
#endif

struct IngestRun {
  int exit_code = -1;
  long max_rss_kib = 0;
  std::string output;
};

// `hyenadesk ingest FILE` (or, with an empty file, `hyenadesk docs`: the program's own baseline).
IngestRun ingest(const fs::path& file, const fs::path& store, const fs::path& log) {
  const pid_t pid = fork();
  if (pid == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, STDOUT_FILENO);
    dup2(fd, STDERR_FILENO);
    if (file.empty()) {
      execl(HD_HYENADESK, HD_HYENADESK, "docs", "--store", store.c_str(), static_cast<char*>(nullptr));
    } else {
      execl(HD_HYENADESK, HD_HYENADESK, "ingest", file.c_str(), "--store", store.c_str(), "--no-embed",
            static_cast<char*>(nullptr));
    }
    _exit(127);
  }
  int status = 0;
  rusage usage{};
  wait4(pid, &status, 0, &usage);
  IngestRun r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.max_rss_kib = usage.ru_maxrss;
  r.output = test::read_file(log);
  return r;
}

TEST(LargeText, TwoHundredMegabytesIngestWithBoundedMemory) {
  test::TempDir dir;
  const fs::path file = dir / "server.log.txt";
  std::uint64_t size = 0;
  {
    std::ofstream out(file, std::ios::binary);
    out << "Operations log of the build farm\n\nalpha first paragraph marker\n\n";
    std::string block;
    for (int p = 0; p < 4000; ++p) {
      block += "entry " + std::to_string(p) + ": the scheduler moved job " + std::to_string(p * 7) +
               " to node " + std::to_string(p % 97) + " after a timeout of " + std::to_string(p % 13) + " seconds.\n\n";
    }
    while (size < (200ull << 20)) {
      out << block;
      size += block.size();
    }
    out << "omega last paragraph marker\n";
  }
  size = fs::file_size(file);
  ASSERT_GE(size, 200ull << 20);

  // The program alone (its GPU libraries map ~200 MiB) against the program ingesting 200 MiB.
  const IngestRun baseline = ingest({}, dir / "empty-store", dir / "baseline.txt");
  ASSERT_EQ(baseline.exit_code, 0) << baseline.output;
  const IngestRun r = ingest(file, dir / "store", dir / "log.txt");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::printf("ingested %.0f MiB of text: peak RSS %.0f MiB, the program alone %.0f MiB\n",
              static_cast<double>(size) / (1 << 20), static_cast<double>(r.max_rss_kib) / 1024,
              static_cast<double>(baseline.max_rss_kib) / 1024);
  if (!kSanitized) {
    EXPECT_LT(r.max_rss_kib, baseline.max_rss_kib + 64L * 1024)
        << "memory grew with the file: " << r.max_rss_kib / 1024 << " MiB against " << baseline.max_rss_kib / 1024;
  }
  auto store = Store::open(dir / "store");
  const auto docs = store->documents();
  ASSERT_EQ(docs.size(), 1u);
  EXPECT_EQ(docs[0].status, "indexed");
  EXPECT_GT(docs[0].chunks, 100'000);  // ~200 MB at ~1 KB a chunk
  const auto last = store->search_text("omega", 5);
  ASSERT_EQ(last.size(), 1u) << "the file's last paragraph is not searchable";
  EXPECT_NE(last[0].text.find("omega last paragraph marker"), std::string::npos);
  EXPECT_FALSE(store->search_text("alpha", 5).empty()) << "the file's first paragraph is not searchable";
  EXPECT_EQ(docs[0].path, fs::absolute(file).string());
}

TEST(LargeText, InvalidUtf8InTheMiddleFailsCleanly) {
  test::TempDir dir;
  const fs::path file = dir / "broken.txt";
  {
    std::ofstream out(file, std::ios::binary);
    const std::string para(1000, 'a');
    for (int i = 0; i < 20'000; ++i) out << para << "\n\n";  // 20 MB of valid text
    out << "bad byte here: \xff\xfe\n\n";
    for (int i = 0; i < 20'000; ++i) out << para << "\n\n";  // and 20 MB more: 40 MB, streamed
  }
  const IngestRun r = ingest(file, dir / "store", dir / "log.txt");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("not valid UTF-8 within bytes"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("broken.txt"), std::string::npos) << r.output;
  auto store = Store::open(dir / "store");
  const auto docs = store->documents();
  ASSERT_EQ(docs.size(), 1u);
  EXPECT_EQ(docs[0].status, "failed");
  EXPECT_EQ(docs[0].chunks, 0) << "chunks of the part before the bad byte were kept";
  EXPECT_EQ(store->chunk_count(), 0);
}

}  // namespace
}  // namespace hd
