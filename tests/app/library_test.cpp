// The library the desktop app shows, over a real store: each document with its format, pages,
// chunks and status (a broken file with its reason); collections saved beside the store and read
// back, scoping documents by folder; removing a document drops it, its chunks and its cached states.
#include <gtest/gtest.h>

#include <fstream>

#include "hd/app/ingest_folder.h"
#include "hd/app/library.h"
#include "hd/app/paths.h"
#include "hd/engine/backend.h"
#include "hd/engine/checkpoint.h"
#include "hd/engine/model_presets.h"
#include "hd/engine/prefill_cache.h"
#include "hd/engine/random_checkpoint.h"
#include "support/temp_dir.h"

namespace hd {
namespace {

namespace fs = std::filesystem;

class Library : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::copy(fs::path(HD_SOURCE_DIR) / "samples", dir_ / "docs", fs::copy_options::recursive);
    fs::create_directories(dir_ / "more");
    std::ofstream(dir_ / "more" / "broken.pdf") << "%PDF-1.4\nnot really a pdf";
    std::ofstream(dir_ / "more" / "notes.md") << "# Notes\n\nThe pump in hall 2 was serviced on Monday.\n";
    store_ = Store::open(dir_ / "store");
    IngestOptions o;
    o.count_tokens = [](std::string_view s) { return (s.size() + 3) / 4; };
    ingest_paths(*store_, {dir_ / "docs", dir_ / "more"}, o);
  }
  const LibraryEntry* find(const std::vector<LibraryEntry>& all, const std::string& name) {
    for (const auto& e : all) {
      if (fs::path(e.path).filename() == name) return &e;
    }
    return nullptr;
  }
  test::TempDir dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(Library, ListsEveryDocumentWithFormatPagesChunksAndTheReasonOfAFailure) {
  const auto all = list_library(*store_);
  ASSERT_EQ(all.size(), 8u);  // six samples (README included), notes.md, broken.pdf
  const LibraryEntry* pdf = find(all, "gpu-benchmark-report.pdf");
  ASSERT_TRUE(pdf);
  EXPECT_EQ(pdf->format, "pdf");
  EXPECT_EQ(pdf->status, "indexed");
  EXPECT_GE(pdf->pages, 2);
  EXPECT_GT(pdf->chunks, 0);
  const LibraryEntry* md = find(all, "hyena-filters.md");
  ASSERT_TRUE(md);
  EXPECT_EQ(md->pages, 0) << "Markdown has no pages";
  const LibraryEntry* broken = find(all, "broken.pdf");
  ASSERT_TRUE(broken);
  EXPECT_EQ(broken->status, "failed");
  EXPECT_NE(broken->error.find("not a readable PDF"), std::string::npos) << broken->error;
}

TEST_F(Library, CollectionsScopeDocumentsByFolderSurviveARestartAndCanBeRemoved) {
  {
    Collections c = Collections::load(store_->dir());
    c.add("samples", (dir_ / "docs").string());
    c.add("notes", (dir_ / "more" / "notes.md").string());
    c.save();
  }
  const Collections c = Collections::load(store_->dir());
  EXPECT_EQ(c.names(), (std::vector<std::string>{"notes", "samples"}));
  EXPECT_EQ(c.document_ids(*store_, "samples").size(), 6u);
  ASSERT_EQ(c.document_ids(*store_, "notes").size(), 1u);
  EXPECT_EQ(c.document_ids(*store_, "notes")[0], *store_->document_by_path((dir_ / "more" / "notes.md").string()));
  Collections edited = Collections::load(store_->dir());
  remove_collection(*store_, edited, "notes", nullptr);
  EXPECT_EQ(Collections::load(store_->dir()).names(), std::vector<std::string>{"samples"});
  EXPECT_FALSE(store_->document_by_path((dir_ / "more" / "notes.md").string())) << "its documents leave the library";
  EXPECT_EQ(list_library(*store_).size(), 7u);
  std::ofstream(store_->dir() / "collections.json") << "{ broken";
  EXPECT_THROW(Collections::load(store_->dir()), std::runtime_error);
}

TEST_F(Library, AWatcherFollowsEveryFolderAndFileUnderAFolderRootAndTheFileRootsWithinItsLimit) {
  fs::create_directories(dir_ / "docs" / "deeper" / "deepest");
  std::ofstream(dir_ / "docs" / "deeper" / "deepest" / "inner.md") << "# Inner\n";
  Collections c = Collections::load(store_->dir());
  c.add("samples", (dir_ / "docs").string());
  c.add("notes", (dir_ / "more" / "notes.md").string());
  c.add("gone", (dir_ / "no-such-folder").string());
  const std::vector<std::string> all = paths_to_watch(c, 1000);
  auto has = [&](const fs::path& p) { return std::find(all.begin(), all.end(), p.string()) != all.end(); };
  EXPECT_TRUE(has(dir_ / "docs"));
  EXPECT_TRUE(has(dir_ / "docs" / "deeper" / "deepest")) << "folders at any depth";
  EXPECT_TRUE(has(dir_ / "docs" / "deeper" / "deepest" / "inner.md")) << "files, which can change in place";
  EXPECT_TRUE(has(dir_ / "more" / "notes.md")) << "a file root";
  EXPECT_FALSE(has(dir_ / "more")) << "only what a collection holds";
  EXPECT_FALSE(has(dir_ / "no-such-folder"));
  EXPECT_EQ(all.size(), 1u + 6u + 2u + 1u + 1u);  // docs, six samples, two folders, inner.md, notes.md
  EXPECT_EQ(paths_to_watch(c, 3).size(), 3u) << "the limit holds";
}

TEST_F(Library, RemovingADocumentDropsItsChunksAndItsCachedStates) {
  const std::string notes = (dir_ / "more" / "notes.md").string(), faq = (dir_ / "docs" / "long-context-faq.html").string();
  // Cached states of a tiny model, one holding notes.md, one holding the FAQ, as ask stores them.
  write_random_checkpoint(preset_config("tiny"), dir_ / "model", {.seed = 1});
  auto ck = Checkpoint::open(dir_ / "model");
  auto backend = make_cpu_backend(*ck, {.threads = 1});
  {
    PrefillCache cache(ck->fingerprint(), {.disk_dir = prefill_cache_dir(store_->dir())});
    for (const auto& [tag, seed] : {std::pair{document_cache_tag(notes), 1}, std::pair{document_cache_tag(faq), 2}}) {
      Session s(*backend, ck->fingerprint(), {.max_positions = 64});
      const std::vector<int> tokens = {seed, 5, 7, 9};
      s.prefill(tokens);
      cache.store(s, tokens, {tag});
    }
  }
  const long long before = store_->chunk_count();
  remove_from_library(*store_, {notes}, nullptr);
  EXPECT_FALSE(store_->document_by_path(notes));
  EXPECT_LT(store_->chunk_count(), before);
  EXPECT_EQ(list_library(*store_).size(), 7u);
  PrefillCache cache(ck->fingerprint(), {.disk_dir = prefill_cache_dir(store_->dir())});
  EXPECT_FALSE(cache.contains(std::vector<int>{1, 5, 7, 9})) << "the removed document's state is gone";
  EXPECT_TRUE(cache.contains(std::vector<int>{2, 5, 7, 9})) << "other documents' states stay";
}

}  // namespace
}  // namespace hd

#include "hd/app/export_markdown.h"

namespace hd {
namespace {

TEST(ExportMarkdown, CarriesTheTextTheSourcesWithPagesAndSaysWhenItWasStopped) {
  const std::string md = answer_markdown("Summary of report.pdf", "Prefill took 16.3 s [1].",
                                         {{1, "GPU report", "/docs/report.pdf", "Results", "Prefill of 131072 tokens took 16.3 seconds.", 2, 2},
                                          {2, "", "/docs/notes.md", "", "", 0, 0}},
                                         true);
  EXPECT_EQ(md.rfind("# Summary of report.pdf\n\nPrefill took 16.3 s [1].\n", 0), 0u);
  EXPECT_NE(md.find("- [1] GPU report, Results, p. 2 (`/docs/report.pdf`)\n  > Prefill of 131072 tokens took 16.3 seconds."),
            std::string::npos);
  EXPECT_NE(md.find("- [2] /docs/notes.md (`/docs/notes.md`)"), std::string::npos);
  EXPECT_NE(md.find("Stopped before the end"), std::string::npos);
}

}  // namespace
}  // namespace hd
