// Retrieval quality on a small labelled set (tests/app/data/retrieval_questions.json):
// each question over samples/ with the passage that answers it. Reports recall@5 and MRR
// and keeps them from falling below what the store achieves today.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include <nlohmann/json.hpp>

#include "hd/app/ingest_folder.h"
#include "support/temp_dir.h"

namespace hd {
namespace {

namespace fs = std::filesystem;

TEST(RetrievalQuality, RecallAtFiveAndMrrOnTheLabelledSamples) {
  test::TempDir dir;
  auto store = Store::open(dir / "store");
  IngestOptions options;
  options.count_tokens = [](std::string_view s) { return (s.size() + 3) / 4; };
  options.chunks.max_tokens = 64;  // passages of a few sentences, so rank 1 means the right passage
  ASSERT_EQ(ingest_paths(*store, {fs::path(HD_SOURCE_DIR) / "samples"}, options).failed, 0u);

  const auto set = nlohmann::json::parse(std::ifstream(fs::path(HD_SOURCE_DIR) / "tests/app/data/retrieval_questions.json"));
  int found = 0, total = 0;
  double reciprocal = 0;
  for (const auto& item : set["questions"]) {
    ++total;
    const auto hits = store->search_text(item["q"].get<std::string>(), 5);
    for (std::size_t rank = 0; rank < hits.size(); ++rank) {
      const bool right = hits[rank].path.find(item["file"].get<std::string>()) != std::string::npos &&
                         hits[rank].text.find(item["answer"].get<std::string>()) != std::string::npos;
      if (right) {
        ++found;
        reciprocal += 1.0 / static_cast<double>(rank + 1);
        break;
      }
    }
  }
  const double recall = static_cast<double>(found) / total, mrr = reciprocal / total;
  std::printf("retrieval quality (full-text, %d questions): recall@5 %.3f, MRR %.3f\n", total, recall, mrr);
  // Floors at today's full-text figures; vector and hybrid search must only raise them.
  EXPECT_GE(recall, 0.9);
  EXPECT_GE(mrr, 0.7);
}

}  // namespace
}  // namespace hd
