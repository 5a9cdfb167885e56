// Ingesting the bundled samples into a real SQLite store: every format read, a second run
// changes nothing, a changed file is re-indexed, identical content is stored once, pruning
// forgets deleted files, failures are recorded with reasons, and search finds the passage.
#include <fstream>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>

#include "hd/app/ingest_folder.h"
#include "support/temp_dir.h"

namespace hd {
namespace {

namespace fs = std::filesystem;
const fs::path kSamples = fs::path(HD_SOURCE_DIR) / "samples";

std::size_t bytes_as_tokens(std::string_view s) { return (s.size() + 3) / 4; }

class IngestFolder : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::copy(kSamples, dir_ / "docs", fs::copy_options::recursive);
    store_ = Store::open(dir_ / "store");
    options_.count_tokens = bytes_as_tokens;
    options_.chunks.max_tokens = 64;
  }
  IngestSummary run() { return ingest_paths(*store_, {dir_ / "docs"}, options_); }
  test::TempDir dir_;
  std::unique_ptr<Store> store_;
  IngestOptions options_;
};

TEST_F(IngestFolder, ReadsEveryFormatAndSecondRunChangesNothing) {
  IngestSummary first = run();
  EXPECT_EQ(first.failed, 0u);
  for (const char* f : {"text", "markdown", "html", "pdf", "docx"}) {
    EXPECT_GE(first.by_format[f].files, 1u) << f;
    EXPECT_GE(first.by_format[f].chunks, 1u) << f;
  }
  const long long chunks = store_->chunk_count();
  IngestSummary second = run();
  EXPECT_EQ(second.indexed, 0u);
  EXPECT_EQ(second.unchanged, first.indexed);
  EXPECT_EQ(store_->chunk_count(), chunks);
}

TEST_F(IngestFolder, ChangedFileIsReindexedAndItsOldChunksGo) {
  run();
  const fs::path notes = dir_ / "docs" / "release-notes.txt";
  test::write_file(notes, "Completely new notes about quantum gardening.\n");
  fs::last_write_time(notes, fs::last_write_time(notes) + std::chrono::seconds(5));
  IngestSummary again = run();
  EXPECT_EQ(again.indexed, 1u);
  EXPECT_FALSE(store_->search_text("gardening", 5).empty());
  EXPECT_TRUE(store_->search_text("incrementally", 5).empty()) << "the old text must be gone";
}

TEST_F(IngestFolder, IdenticalContentIsStoredOnceUnderBothPaths) {
  run();
  fs::copy_file(dir_ / "docs" / "hyena-filters.md", dir_ / "docs" / "copy-of-filters.md");
  const long long documents = store_->document_count();
  IngestSummary again = run();
  EXPECT_EQ(again.duplicates, 1u);
  EXPECT_EQ(store_->document_count(), documents);
  EXPECT_EQ(store_->paths().size(), 7u);
}

TEST_F(IngestFolder, PruningAFolderLeavesASiblingWhoseNameStartsTheSame) {
  fs::create_directories(dir_ / "docs-old");
  test::write_file(dir_ / "docs-old" / "kept.md", "# Kept\n\nThe archive of last year.\n");
  ingest_paths(*store_, {dir_ / "docs-old"}, options_);
  run();
  options_.prune = true;
  EXPECT_EQ(run().pruned, 0u);
  EXPECT_TRUE(store_->document_by_path((dir_ / "docs-old" / "kept.md").string())) << "docs-old is not under docs";
}

TEST_F(IngestFolder, PruneForgetsDeletedFilesAndFailuresCarryTheirReason) {
  run();
  fs::remove(dir_ / "docs" / "meeting-notes.docx");
  test::write_file(dir_ / "docs" / "broken.pdf", "%PDF-1.4\nnot really a pdf");
  options_.prune = true;
  IngestSummary again = run();
  EXPECT_EQ(again.pruned, 1u);
  EXPECT_TRUE(store_->search_text("attendees", 5).empty());
  ASSERT_EQ(again.failures.size(), 1u);
  EXPECT_NE(again.failures[0].second.find("broken.pdf: not a readable PDF"), std::string::npos);
  bool listed = false;
  for (const auto& d : store_->documents()) listed = listed || (d.status == "failed" && d.path.find("broken.pdf") != std::string::npos);
  EXPECT_TRUE(listed);
}

TEST_F(IngestFolder, SearchRanksTheAnsweringPassageFirstWithItsCitation) {
  run();
  auto hits = store_->search_text("Why is the second question faster?", 3);
  ASSERT_FALSE(hits.empty());
  EXPECT_NE(hits[0].path.find("long-context-faq.html"), std::string::npos);
  EXPECT_NE(hits[0].section_path.find("Why is the second question faster?"), std::string::npos);
  auto pdf = store_->search_text("inference cache transformer", 3);
  ASSERT_FALSE(pdf.empty());
  EXPECT_NE(pdf[0].path.find("gpu-benchmark-report.pdf"), std::string::npos);
  EXPECT_GE(pdf[0].page_first, 1);
  EXPECT_TRUE(store_->search_text("\"unbalanced AND OR (", 3).size() <= 3) << "query syntax must not break search";
}

TEST_F(IngestFolder, CancelStopsBetweenFilesAndTheNextRunFinishes) {
  std::atomic<bool> cancel{false};
  options_.cancel = &cancel;
  options_.on_progress = [&](const IngestProgress& p) {
    if (p.files_done == 2) cancel = true;
  };
  IngestSummary partial = run();
  EXPECT_TRUE(partial.cancelled);
  EXPECT_LT(partial.indexed, 6u);
  cancel = false;
  options_.on_progress = nullptr;
  IngestSummary rest = run();
  EXPECT_EQ(partial.indexed + rest.indexed, 6u);
}


TEST_F(IngestFolder, CancelReachesInsideTheFileBeingReadAndStoresNothingOfIt) {
  std::atomic<bool> cancel{false};
  options_.cancel = &cancel;
  std::string cancelled_in;
  options_.on_progress = [&](const IngestProgress& p) {
    if (p.files_done == 2 && cancelled_in.empty()) {  // Ctrl-C as the third file starts to be read
      cancelled_in = p.current;
      cancel = true;
    }
  };
  IngestSummary partial = run();
  EXPECT_TRUE(partial.cancelled);
  EXPECT_EQ(partial.indexed, 2u);
  EXPECT_EQ(partial.failed, 0u) << "a cancel is not the file's failure";
  EXPECT_FALSE(store_->path_record(cancelled_in)) << cancelled_in << " was stored after the cancel";
  cancel = false;
  options_.on_progress = nullptr;
  EXPECT_EQ(run().indexed, 4u);
}

TEST_F(IngestFolder, AFileWrittenToWhileItIsReadIsRefusedAndReadAgainNextRun) {
  // The chunker's token counter runs after the file was hashed and read: appending to the file
  // being read from there is a writer changing it mid-ingest. Its hash and its text would not agree.
  std::string current, changed;
  options_.on_progress = [&](const IngestProgress& p) { current = p.current; };
  options_.count_tokens = [&](std::string_view text) {
    const bool plain = current.ends_with(".txt") || current.ends_with(".md");
    if (changed.empty() && plain) {
      changed = current;
      std::ofstream(changed, std::ios::app) << "\n\nA paragraph written during the ingest.\n";
    }
    return bytes_as_tokens(text);
  };
  IngestSummary first = run();
  ASSERT_FALSE(changed.empty());
  ASSERT_EQ(first.failed, 1u);
  EXPECT_EQ(first.failures[0].first, changed);
  EXPECT_NE(first.failures[0].second.find("changed while it was read"), std::string::npos) << first.failures[0].second;
  options_.count_tokens = bytes_as_tokens;
  options_.on_progress = nullptr;
  IngestSummary second = run();
  EXPECT_EQ(second.failed, 0u);
  EXPECT_EQ(second.indexed, 1u) << "the refused file is read again, whole";
  auto hits = store_->search_text("paragraph written during the ingest", 3);
  ASSERT_FALSE(hits.empty());
  EXPECT_EQ(hits[0].path, changed);
}

TEST_F(IngestFolder, AFileOverThePerFileBudgetIsRefusedAndTheOthersAreRead) {
  options_.limits.max_seconds = 1e-9;  // no file can be read this fast
  IngestSummary s = run();
  EXPECT_EQ(s.failed, 6u);
  ASSERT_FALSE(s.failures.empty());
  EXPECT_NE(s.failures[0].second.find("per-file budget"), std::string::npos) << s.failures[0].second;
  options_.limits.max_seconds = 300;
  EXPECT_EQ(run().indexed, 6u) << "refused files are read again next run";
}


TEST_F(IngestFolder, SpecialFilesAreCountedAsSkippedWithTheirKind) {
  ASSERT_EQ(mkfifo((dir_ / "docs" / "pipe.txt").c_str(), 0600), 0);
  fs::create_symlink(dir_ / "nowhere.md", dir_ / "docs" / "dangling.md");
  IngestSummary s = run();
  EXPECT_EQ(s.indexed, 6u);
  std::map<std::string, std::string> skipped(s.skipped.begin(), s.skipped.end());
  EXPECT_EQ(skipped[(dir_ / "docs" / "pipe.txt").string()], "named pipe (FIFO)");
  EXPECT_EQ(skipped[(dir_ / "docs" / "dangling.md").string()], "link to nothing (dangling)");
}

// An unreadable folder is reported and what was stored from it is kept (not pruned). Root reads
// every folder, so as root the ingest runs in a child process that has given up root.
TEST_F(IngestFolder, AnUnreadableFolderIsReportedAndItsDocumentsAreNotPruned) {
  fs::create_directories(dir_ / "docs" / "private");
  fs::copy_file(dir_ / "docs" / "release-notes.txt", dir_ / "docs" / "private" / "notes-copy.txt");
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (geteuid() == 0) {
      bool owned = lchown(dir_.path().c_str(), 65534, 65534) == 0;  // the user "nobody" owns the tree
      for (const auto& e : fs::recursive_directory_iterator(dir_.path())) {
        owned = owned && lchown(e.path().c_str(), 65534, 65534) == 0;
      }
      if (!owned || setgid(65534) != 0 || setuid(65534) != 0) _exit(10);
    }
    store_ = Store::open(dir_ / "store");
    options_.prune = true;
    const IngestSummary first = run();
    if (first.indexed != 6 || first.duplicates != 1) _exit(11);  // the copy is stored once, as a duplicate
    fs::permissions(dir_ / "docs" / "private", fs::perms::none);
    const IngestSummary s = run();
    fs::permissions(dir_ / "docs" / "private", fs::perms::owner_all);
    if (s.pruned != 0) _exit(12);
    if (s.skipped.size() != 1 || s.skipped[0].first != (dir_ / "docs" / "private").string() ||
        s.skipped[0].second.find("folder cannot be read") == std::string::npos) {
      _exit(13);
    }
    if (!store_->path_record((dir_ / "docs" / "private" / "notes-copy.txt").string())) _exit(14);
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "10: could not give up root, 11: first ingest, 12: pruned, 13: not reported, "
                                       "14: the stored document was forgotten";
}

}  // namespace
}  // namespace hd
