// The FAISS index against the vectors in SQLite: built from them, saved as generations, caught
// up after changes, and rebuilt when its file is missing, damaged or left half-written by a
// crash. Real SQLite store, real FAISS index; vectors are random unit vectors (the index does
// not care where they come from).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <random>

#include "hd/retrieval/vector_index.h"
#include "support/temp_dir.h"

namespace hd {
namespace {

constexpr int kDim = 8;
const std::string kModel = "test-model@0";

std::vector<float> unit_vector(std::mt19937& gen) {
  std::normal_distribution<float> n;
  std::vector<float> v(kDim);
  float norm = 0;
  for (float& x : v) {
    x = n(gen);
    norm += x * x;
  }
  for (float& x : v) x /= std::sqrt(norm);
  return v;
}

// Stores `path` with `chunks` chunks and returns their vectors (chunk order).
std::vector<std::vector<float>> put(Store& store, const std::string& path, int chunks, std::mt19937& gen,
                                    const std::string& model = kModel) {
  std::vector<NewChunk> c;
  ChunkVectors v{model, kDim, {}};
  std::vector<std::vector<float>> out;
  for (int i = 0; i < chunks; ++i) {
    c.push_back({path + " chunk " + std::to_string(i), "", 0, 0, 0, 1, 1});
    out.push_back(unit_vector(gen));
    v.values.insert(v.values.end(), out.back().begin(), out.back().end());
  }
  store.put_document(path, 1, {"hash-" + path + std::to_string(gen()), "markdown", path, "indexed", "", 1}, c, &v);
  return out;
}

// The index must hold exactly the stored vectors, and find each by itself.
void expect_agrees(const Store& store, const VectorIndex& index) {
  EXPECT_EQ(index.ids(), store.vector_chunk_ids());
  EXPECT_EQ(index.size(), store.chunk_count()) << "every chunk has a vector in these tests";
}

long long top_hit(const VectorIndex& index, const std::vector<float>& q, float* score = nullptr) {
  const auto m = index.search(q.data(), 1);
  if (m.empty()) return -1;
  if (score) *score = m[0].score;
  return m[0].chunk_id;
}

TEST(VectorIndex, BuiltFromStoredVectorsFindsEachChunk) {
  test::TempDir dir;
  auto store = Store::open(dir / "store");
  std::mt19937 gen(1);
  const auto a = put(*store, "/a.md", 5, gen);
  put(*store, "/b.md", 7, gen);
  auto index = VectorIndex::open(*store, kModel, kDim);
  expect_agrees(*store, *index);
  EXPECT_EQ(index->rebuild_reason(), "") << "a first build is not a rebuild";
  float score = 0;
  const long long hit = top_hit(*index, a[3], &score);
  EXPECT_NEAR(score, 1.f, 1e-5);
  EXPECT_EQ(store->chunks_by_id({hit}).at(0).text, "/a.md chunk 3");
}

TEST(VectorIndex, SavedGenerationReopensWithoutRebuildAndCatchesUpWithChanges) {
  test::TempDir dir;
  auto store = Store::open(dir / "store");
  std::mt19937 gen(2);
  put(*store, "/a.md", 4, gen);
  put(*store, "/b.md", 4, gen);
  VectorIndex::open(*store, kModel, kDim)->save();
  ASSERT_TRUE(store->vector_index_record());
  EXPECT_EQ(store->vector_index_record()->generation, 1);
  {
    auto index = VectorIndex::open(*store, kModel, kDim);
    EXPECT_EQ(index->rebuild_reason(), "");
    expect_agrees(*store, *index);
  }
  // After the save: a new file, a removed file, a changed file.
  const auto c = put(*store, "/c.md", 3, gen);
  store->remove_path("/a.md");
  const auto b2 = put(*store, "/b.md", 2, gen);
  auto index = VectorIndex::open(*store, kModel, kDim);
  EXPECT_EQ(index->rebuild_reason(), "") << "catching up should not need a rebuild";
  expect_agrees(*store, *index);
  EXPECT_EQ(store->chunks_by_id({top_hit(*index, b2[1])}).at(0).text, "/b.md chunk 1");
  EXPECT_EQ(store->chunks_by_id({top_hit(*index, c[0])}).at(0).text, "/c.md chunk 0");
  index->save();
  EXPECT_EQ(store->vector_index_record()->generation, 2);
  EXPECT_FALSE(std::filesystem::exists(dir / "store" / "vectors-1.faiss")) << "the old generation is deleted";
  EXPECT_TRUE(std::filesystem::exists(dir / "store" / "vectors-2.faiss"));
}

TEST(VectorIndex, ReusedChunkIdsGetTheirNewVector) {
  test::TempDir dir;
  auto store = Store::open(dir / "store");
  std::mt19937 gen(3);
  put(*store, "/a.md", 3, gen);
  const auto old_b = put(*store, "/b.md", 3, gen);  // the highest chunk ids
  VectorIndex::open(*store, kModel, kDim)->save();
  store->remove_path("/b.md");
  const auto new_c = put(*store, "/c.md", 3, gen);  // SQLite may hand out b's ids again
  auto index = VectorIndex::open(*store, kModel, kDim);
  expect_agrees(*store, *index);
  for (int i = 0; i < 3; ++i) {
    float score = 0;
    const long long hit = top_hit(*index, new_c[i], &score);
    EXPECT_NEAR(score, 1.f, 1e-5);
    EXPECT_EQ(store->chunks_by_id({hit}).at(0).text, "/c.md chunk " + std::to_string(i));
    top_hit(*index, old_b[i], &score);
    EXPECT_LT(score, 0.999f) << "a vector of the removed file is still in the index";
  }
}

TEST(VectorIndex, CrashLeftoversAndDamagedFilesAreHandled) {
  test::TempDir dir;
  auto store = Store::open(dir / "store");
  std::mt19937 gen(4);
  const auto a = put(*store, "/a.md", 6, gen);
  VectorIndex::open(*store, kModel, kDim)->save();
  const auto folder = dir / "store";

  // Killed while writing the next generation: a partial temporary file. Ignored, then deleted.
  test::write_file(folder / "vectors-2.faiss.tmp", "partial");
  // Killed after the rename, before SQLite recorded it: an unrecorded newer file.
  std::filesystem::copy_file(folder / "vectors-1.faiss", folder / "vectors-2.faiss");
  put(*store, "/b.md", 2, gen);
  {
    auto index = VectorIndex::open(*store, kModel, kDim);
    EXPECT_EQ(index->rebuild_reason(), "");
    expect_agrees(*store, *index);
    index->save();
  }
  EXPECT_EQ(store->vector_index_record()->file, "vectors-2.faiss");
  EXPECT_FALSE(std::filesystem::exists(folder / "vectors-2.faiss.tmp"));
  EXPECT_FALSE(std::filesystem::exists(folder / "vectors-1.faiss"));

  // The recorded file damaged (truncated; then one byte flipped), then missing: rebuilt from
  // SQLite, same answers.
  std::filesystem::resize_file(folder / "vectors-2.faiss", 100);
  {
    auto index = VectorIndex::open(*store, kModel, kDim);
    EXPECT_NE(index->rebuild_reason().find("damaged"), std::string::npos) << index->rebuild_reason();
    expect_agrees(*store, *index);
    EXPECT_EQ(store->chunks_by_id({top_hit(*index, a[5])}).at(0).text, "/a.md chunk 5");
  }
  VectorIndex::open(*store, kModel, kDim)->save();  // a good file again (generation 3)
  {
    std::fstream f(folder / "vectors-3.faiss", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(200);
    f.put('\x5a');
  }
  {
    auto index = VectorIndex::open(*store, kModel, kDim);
    EXPECT_NE(index->rebuild_reason().find("damaged"), std::string::npos) << index->rebuild_reason();
    expect_agrees(*store, *index);
  }
  std::filesystem::remove(folder / "vectors-3.faiss");
  {
    auto index = VectorIndex::open(*store, kModel, kDim);
    EXPECT_NE(index->rebuild_reason().find("missing"), std::string::npos) << index->rebuild_reason();
    expect_agrees(*store, *index);
  }
}

TEST(VectorIndex, PastTheThresholdAnIvfIndexFindsTheSameChunksAndCatchesUp) {
  test::TempDir dir;
  auto store = Store::open(dir / "store");
  std::mt19937 gen(6);
  std::vector<std::vector<float>> first;
  for (int f = 0; f < 30; ++f) {
    const auto v = put(*store, "/f" + std::to_string(f) + ".md", 20, gen);
    if (f == 0) first = v;
  }
  VectorIndexOptions options;
  options.ivf_threshold = 500;  // 600 vectors: past it
  {
    auto index = VectorIndex::open(*store, kModel, kDim, options);
    EXPECT_TRUE(index->approximate());
    expect_agrees(*store, *index);
    for (int i = 0; i < 20; ++i) {
      EXPECT_EQ(store->chunks_by_id({top_hit(*index, first[i])}).at(0).text, "/f0.md chunk " + std::to_string(i));
    }
    index->save();
  }
  store->remove_path("/f0.md");
  const auto added = put(*store, "/new.md", 5, gen);
  auto index = VectorIndex::open(*store, kModel, kDim, options);
  EXPECT_EQ(index->rebuild_reason(), "");
  EXPECT_TRUE(index->approximate()) << "the saved IVF index was loaded";
  expect_agrees(*store, *index);
  EXPECT_EQ(store->chunks_by_id({top_hit(*index, added[2])}).at(0).text, "/new.md chunk 2");
}

TEST(VectorIndex, VectorsOfAnotherModelAreRefused) {
  test::TempDir dir;
  auto store = Store::open(dir / "store");
  std::mt19937 gen(5);
  put(*store, "/a.md", 2, gen, "other-model@1");
  try {
    VectorIndex::open(*store, kModel, kDim);
    FAIL() << "mixed models were accepted";
  } catch (const StoreError& e) {
    EXPECT_NE(std::string(e.what()).find("other-model@1"), std::string::npos) << e.what();
  }
}

TEST(VectorIndex, MismatchedVectorCountIsRefusedByTheStore) {
  test::TempDir dir;
  auto store = Store::open(dir / "store");
  ChunkVectors v{kModel, kDim, std::vector<float>(kDim * 2)};
  std::vector<NewChunk> one{{"text", "", 0, 0, 0, 4, 1}};
  EXPECT_THROW(store->put_document("/x.md", 1, {"h", "markdown", "x", "indexed", "", 1}, one, &v), StoreError);
  EXPECT_EQ(store->chunk_count(), 0) << "nothing of the refused document is stored";
}

}  // namespace
}  // namespace hd
