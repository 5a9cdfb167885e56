// Search while ingest writes: SQLite in WAL mode lets readers run during a write
// transaction. A reader connection searches in a loop while a writer stores documents one
// transaction at a time; the reader never fails and only ever sees whole documents.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "hd/retrieval/store.h"
#include "hd/retrieval/vector_index.h"
#include "support/temp_dir.h"

namespace hd {
namespace {

TEST(ConcurrentSearch, ReadersSeeWholeDocumentsWhileAWriterStoresMore) {
  test::TempDir dir;
  auto writer = Store::open(dir / "store");
  auto reader = Store::open(dir / "store");  // a second connection, as the UI would have
  const int documents = 300, chunks_per_document = 5;
  std::atomic<bool> done{false};
  std::atomic<int> searches{0}, torn{0};
  std::string failure;

  std::thread search([&] {
    try {
      while (!done) {
        // Every stored document has exactly chunks_per_document chunks holding "needle".
        const auto hits = reader->search_text("needle", 100000);
        if (hits.size() % chunks_per_document != 0) ++torn;
        ++searches;
      }
    } catch (const std::exception& e) {
      failure = e.what();
    }
  });
  for (int d = 0; d < documents; ++d) {
    std::vector<NewChunk> chunks;
    for (int c = 0; c < chunks_per_document; ++c) {
      chunks.push_back({"needle in document " + std::to_string(d) + " chunk " + std::to_string(c), "", 0, 0, 0, 10, 5});
    }
    writer->put_document("/docs/" + std::to_string(d) + ".txt", d,
                         {"hash" + std::to_string(d), "text", "doc", "indexed", "", 10}, chunks);
  }
  done = true;
  search.join();
  EXPECT_EQ(failure, "") << "a search failed while ingest was writing";
  EXPECT_EQ(torn, 0) << "a search saw part of a document";
  EXPECT_GT(searches, 10) << "the reader hardly ran: the test proved little";
  EXPECT_EQ(reader->search_text("needle", 100000).size(), static_cast<std::size_t>(documents * chunks_per_document));
}

// The same with vectors: a reader keeps its FAISS index caught up (refresh) while a writer stores
// documents with vectors and the writer's own index saves generations now and then. The reader's
// index always holds whole documents and agrees with the store at the end.
TEST(ConcurrentSearch, VectorIndexCatchesUpWhileAWriterStoresAndSaves) {
  test::TempDir dir;
  auto writer = Store::open(dir / "store");
  auto reader = Store::open(dir / "store");
  constexpr int kDim = 4, documents = 200, chunks_per_document = 5;
  const std::string model = "test-model@0";
  std::atomic<bool> done{false};
  std::atomic<int> refreshes{0}, torn{0};
  std::string failure;
  std::thread search([&] {
    try {
      auto index = VectorIndex::open(*reader, model, kDim);
      while (!done) {
        index->refresh();
        if (index->size() % chunks_per_document != 0) ++torn;
        const float q[kDim] = {1, 0, 0, 0};
        index->search(q, 10);
        ++refreshes;
      }
    } catch (const std::exception& e) {
      failure = e.what();
    }
  });
  for (int d = 0; d < documents; ++d) {
    std::vector<NewChunk> chunks;
    ChunkVectors v{model, kDim, {}};
    for (int c = 0; c < chunks_per_document; ++c) {
      chunks.push_back({"document " + std::to_string(d) + " chunk " + std::to_string(c), "", 0, 0, 0, 10, 5});
      v.values.insert(v.values.end(), {1.f, static_cast<float>(d), static_cast<float>(c), 0.f});
    }
    writer->put_document("/docs/" + std::to_string(d) + ".txt", d,
                         {"hash" + std::to_string(d), "text", "doc", "indexed", "", 10}, chunks, &v);
    if (d % 50 == 49) VectorIndex::open(*writer, model, kDim)->save();  // as ingest does at the end of a run
  }
  done = true;
  search.join();
  EXPECT_EQ(failure, "") << "the reader's index failed while ingest was writing";
  EXPECT_EQ(torn, 0) << "the reader's index held part of a document";
  EXPECT_GT(refreshes, 10) << "the reader hardly ran: the test proved little";
  auto index = VectorIndex::open(*reader, model, kDim);
  EXPECT_EQ(index->ids(), reader->vector_chunk_ids());
  EXPECT_EQ(index->size(), documents * chunks_per_document);
}

}  // namespace
}  // namespace hd
