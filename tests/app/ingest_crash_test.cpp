// Crash safety, deterministically: `hyenadesk ingest` (with embeddings) is stopped at named crash
// points (HD_CRASH_POINT, hd/retrieval/crash_point.h) and killed there with SIGKILL, round after
// round on the same store: before the first commit, between migrations, inside a file's embedding,
// just before and just after a file's commit, between the segments of a large file, after a FAISS
// generation is written and after it is renamed, and after files change. No clock decides where a
// kill lands: each round asserts that its point was reached and what the store holds after it.
//
// After every kill: SQLite is intact, the full-text index agrees with the chunks, every stored
// document has all of its chunks (as many as a clean run stores for the same content) and each
// chunk its vector, and nothing is orphaned. The last run completes, and its saved FAISS index
// holds exactly the stored vectors and loads without a rebuild.
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <map>

#include "hd/engine/text_embedder.h"
#include "hd/retrieval/store.h"
#include "hd/retrieval/vector_index.h"
#include "support/embedder_model.h"
#include "support/temp_dir.h"

namespace hd {
namespace {

namespace fs = std::filesystem;

// How a run ended: stopped at its crash point (then killed by us), or exited by itself.
struct RunEnd {
  bool stopped_at_point = false;
  int exit_code = -1;
};

// Runs ingest over `docs` into `store`; with `crash_point` ("NAME:N") it must stop there, and is
// then killed with SIGKILL exactly where it stands.
RunEnd run_ingest(const fs::path& docs, const fs::path& store, const std::string& crash_point = "") {
  const pid_t pid = fork();
  if (pid == 0) {
    const int devnull = ::open("/dev/null", O_WRONLY);
    dup2(devnull, STDOUT_FILENO);
    dup2(devnull, STDERR_FILENO);
    if (!crash_point.empty()) setenv("HD_CRASH_POINT", crash_point.c_str(), 1);
    const std::string embedder = test::embedder_dir().string();
    // Text over 16 KiB is stored in 8 KiB segments, so the large file below has several.
    execl(HD_HYENADESK, HD_HYENADESK, "ingest", docs.c_str(), "--store", store.c_str(), "--chunk-tokens", "24",
          "--stream-over-kb", "16", "--segment-kb", "8", "--embedder", embedder.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  RunEnd end;
  int status = 0;
  waitpid(pid, &status, WUNTRACED);
  if (WIFSTOPPED(status)) {
    end.stopped_at_point = true;
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
  } else if (WIFEXITED(status)) {
    end.exit_code = WEXITSTATUS(status);
  }
  return end;
}

class Db {
 public:
  explicit Db(const fs::path& file) {
    if (sqlite3_open_v2(file.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
      sqlite3_close(db_);
      db_ = nullptr;
    }
  }
  ~Db() { sqlite3_close(db_); }
  bool ok() const { return db_ != nullptr; }
  sqlite3* get() const { return db_; }
  long long integer(const std::string& sql) const {
    sqlite3_stmt* s = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db_, sql.c_str(), -1, &s, nullptr), SQLITE_OK) << sql << ": " << sqlite3_errmsg(db_);
    long long v = -1;
    if (sqlite3_step(s) == SQLITE_ROW) v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
  }
  // content hash -> chunk count, for every document stored as indexed
  std::map<std::string, long long> chunks_by_content() const {
    std::map<std::string, long long> out;
    sqlite3_stmt* s = nullptr;
    sqlite3_prepare_v2(db_,
                       "SELECT d.content_hash, (SELECT count(*) FROM chunks c WHERE c.document_id = d.id) FROM documents d "
                       "WHERE d.status = 'indexed'",
                       -1, &s, nullptr);
    while (sqlite3_step(s) == SQLITE_ROW) {
      out[reinterpret_cast<const char*>(sqlite3_column_text(s, 0))] = sqlite3_column_int64(s, 1);
    }
    sqlite3_finalize(s);
    return out;
  }

 private:
  sqlite3* db_ = nullptr;
};

// The invariants a kill anywhere must keep. `complete`: content hash -> chunk count of a clean run.
void expect_consistent(const fs::path& store, const std::map<std::string, long long>& complete, const std::string& where) {
  SCOPED_TRACE("after the kill at " + where);
  const fs::path file = store / "store.sqlite3";
  if (!fs::exists(file)) return;  // killed before the database was created: nothing to check
  Db db(file);
  ASSERT_TRUE(db.ok());
  sqlite3_stmt* s = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db.get(), "PRAGMA integrity_check", -1, &s, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(s), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(s, 0)), "ok");
  sqlite3_finalize(s);
  if (db.integer("PRAGMA user_version") < 1) return;  // no schema yet
  EXPECT_EQ(sqlite3_exec(db.get(), "INSERT INTO chunks_fts(chunks_fts) VALUES('integrity-check')", nullptr, nullptr, nullptr),
            SQLITE_OK)
      << "the full-text index disagrees with the chunks: " << sqlite3_errmsg(db.get());
  for (const auto& [hash, chunks] : db.chunks_by_content()) {
    auto want = complete.find(hash);
    ASSERT_NE(want, complete.end()) << "a stored document whose content no clean run stores: " << hash;
    EXPECT_EQ(chunks, want->second) << "a document stored with part of its chunks: " << hash;
  }
  EXPECT_EQ(db.integer("SELECT count(*) FROM documents d WHERE NOT EXISTS (SELECT 1 FROM document_paths p WHERE p.document_id = d.id)"), 0)
      << "a document no path refers to";
  EXPECT_EQ(db.integer("SELECT count(*) FROM chunks c WHERE NOT EXISTS (SELECT 1 FROM documents d WHERE d.id = c.document_id)"), 0)
      << "orphaned chunks";
  if (db.integer("PRAGMA user_version") >= 2) {
    EXPECT_EQ(db.integer("SELECT count(*) FROM chunks c WHERE NOT EXISTS (SELECT 1 FROM chunk_vectors v WHERE v.chunk_id = c.id)"), 0)
        << "chunks without a vector";
  }
}

long long stored_paths(const fs::path& store) {
  Db db(store / "store.sqlite3");
  if (!db.ok() || db.integer("PRAGMA user_version") < 1) return 0;
  return db.integer("SELECT count(*) FROM document_paths");
}

long long schema_version(const fs::path& store) {
  Db db(store / "store.sqlite3");
  return db.ok() ? db.integer("PRAGMA user_version") : -1;
}

bool index_recorded(const fs::path& store) {
  Db db(store / "store.sqlite3");
  return db.ok() && db.integer("SELECT count(*) FROM vector_index") > 0;
}

void write_markdown(const fs::path& file, int i, const std::string& extra = "") {
  std::string text = "# Document " + std::to_string(i) + "\n\n";
  for (int p = 0; p < 3; ++p) {
    text += "Paragraph " + std::to_string(p) + " of file " + std::to_string(i) + " holds unique word w" + std::to_string(i) + "x. " + extra + "\n\n";
  }
  test::write_file(file, text);
}

TEST(IngestCrash, KilledAtEveryKindOfPointTheStoreStaysConsistentAndTheNextRunCompletes) {
  HD_REQUIRE_EMBEDDER();
  test::TempDir dir;
  const int files = 40;
  const fs::path docs = dir / "docs";
  fs::create_directories(docs);
  for (int i = 0; i < files; ++i) write_markdown(docs / ("doc" + std::to_string(i) + ".md"), i);
  {  // a plain-text file of ~24 KiB: three 8 KiB segments in one transaction (sorts after doc*.md)
    std::string big;
    for (int p = 0; big.size() < 24'000; ++p) big += "Large file paragraph " + std::to_string(p) + " about segment storage.\n\n";
    test::write_file(docs / "large.txt", big);
  }

  // What complete documents look like: a clean run over the corpus, and over the later changes.
  const fs::path changed = dir / "changed";
  fs::create_directories(changed);
  write_markdown(changed / "doc3.md", 3, "Edited later.");
  write_markdown(changed / "doc-new.md", 1000);
  std::map<std::string, long long> complete;
  {
    ASSERT_EQ(run_ingest(docs, dir / "reference").exit_code, 0);
    ASSERT_EQ(run_ingest(changed, dir / "reference").exit_code, 0);
    complete = Db(dir / "reference" / "store.sqlite3").chunks_by_content();
    ASSERT_EQ(complete.size(), static_cast<std::size_t>(files + 1 + 2));
  }

  const fs::path store = dir / "store";
  struct Round {
    std::string point;
    long long paths_after;  // files stored once the round is killed
    std::string why;
  };
  // Rounds on one store, in order; each process resumes what the previous ones left. Commits are
  // counted per process: three schema migrations, then one per file, then the index record.
  const std::vector<Round> rounds = {
      {"before-commit:1", 0, "before the store's first commit"},
      {"after-commit:2", 0, "between two schema migrations"},
      {"embed-batch:1", 0, "inside the first file's embeddings"},
      {"before-commit:5", 4, "just before the 5th file's commit (this run migrates nothing)"},
      {"after-commit:7", 11, "just after the 7th file's commit"},
      {"segment-stored:2", files, "between two segments of the large file, after all Markdown files"},
      {"before-commit:1", files, "just before the large file's one commit"},
      {"embed-batch:3", files, "inside the large file's embeddings"},
      {"index-file-written:1", files + 1, "after a FAISS generation is written, before its rename"},
      {"index-file-renamed:1", files + 1, "after the rename, before SQLite records it"},
  };
  for (const Round& r : rounds) {
    const RunEnd end = run_ingest(docs, store, r.point);
    ASSERT_TRUE(end.stopped_at_point) << "ingest never reached " << r.point << " (" << r.why << "), exit " << end.exit_code
                                      << ": the round proves nothing";
    expect_consistent(store, complete, r.point + " (" + r.why + ")");
    EXPECT_EQ(stored_paths(store), r.paths_after) << r.point << " (" << r.why << ")";
    if (r.point == "after-commit:2") {
      EXPECT_EQ(schema_version(store), 2) << "the kill landed between migrations";
    }
    if (r.point.rfind("index-file", 0) == 0) {
      EXPECT_FALSE(index_recorded(store)) << "the kill landed before the record";
    }
  }

  // Files change: one edited, one added (it sorts first); kills between their commits and around
  // the index generation that follows.
  fs::copy_file(changed / "doc3.md", docs / "doc3.md", fs::copy_options::overwrite_existing);
  fs::copy_file(changed / "doc-new.md", docs / "doc-new.md");
  for (const Round& r : std::vector<Round>{{"after-commit:1", files + 2, "after the new file's commit, before the edited one's"},
                                           {"index-file-written:1", files + 2, "after both, while the index is written"}}) {
    const RunEnd end = run_ingest(docs, store, r.point);
    ASSERT_TRUE(end.stopped_at_point) << "ingest never reached " << r.point << " (" << r.why << ")";
    expect_consistent(store, complete, r.point + " (" + r.why + ")");
    EXPECT_EQ(stored_paths(store), r.paths_after) << r.point << " (" << r.why << ")";
  }

  const RunEnd last = run_ingest(docs, store);
  ASSERT_FALSE(last.stopped_at_point);
  ASSERT_EQ(last.exit_code, 0);
  expect_consistent(store, complete, "the completed run");
  {
    Db db(store / "store.sqlite3");
    EXPECT_EQ(db.integer("SELECT count(*) FROM document_paths"), files + 2);
    EXPECT_EQ(db.integer("SELECT count(*) FROM documents"), files + 2) << "the edited file's old version is gone";
    EXPECT_EQ(db.chunks_by_content().size(), static_cast<std::size_t>(files + 2));
  }
  auto opened = Store::open(store);
  {
    const auto embedder = TextEmbedder::open(test::embedder_dir());
    const auto index = VectorIndex::open(*opened, embedder->model_id(), embedder->dimension());
    EXPECT_EQ(index->rebuild_reason(), "") << "the completed run left an index file that does not load";
    EXPECT_EQ(index->ids(), opened->vector_chunk_ids()) << "FAISS and SQLite disagree";
    EXPECT_EQ(index->size(), opened->chunk_count());
    EXPECT_EQ(index->applied_version(), opened->vectors_version()) << "the saved index is behind the store";
  }
  for (int i : {0, 3, 27, files - 1, 1000}) {
    auto hits = opened->search_text("w" + std::to_string(i) + "x", 50);
    EXPECT_FALSE(hits.empty()) << "file " << i << " is missing";
    for (const SearchHit& h : hits) {
      EXPECT_NE(h.path.find(i == 1000 ? "doc-new.md" : "doc" + std::to_string(i) + ".md"), std::string::npos)
          << "file " << i << " appears under another path";
    }
  }
  EXPECT_FALSE(opened->search_text("Edited", 5).empty()) << "the edited version of doc3 is not the one stored";
}

}  // namespace
}  // namespace hd
