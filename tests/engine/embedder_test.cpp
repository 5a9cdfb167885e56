// The all-MiniLM-L6-v2 embedder against sentence-transformers: WordPiece ids equal HF `tokenizers`
// and embeddings have cosine >= 0.9999 on the 100 texts of tests/engine/fixtures/minilm/golden.json
// (scripts/fixtures/make_embedding_golden.py). The model comes from scripts/setup
// (support/embedder_model.h). Then the errors a broken model folder gives.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include <nlohmann/json.hpp>

#include "hd/engine/safetensors.h"
#include "hd/engine/text_embedder.h"
#include "hd/kernels/device.h"
#include "support/embedder_model.h"
#include "support/temp_dir.h"

namespace hd {
namespace {

std::filesystem::path model_dir() { return test::embedder_dir(); }

const nlohmann::json& golden() {
  static const nlohmann::json g = [] {
    std::ifstream in(std::filesystem::path(HD_SOURCE_DIR) / "tests/engine/fixtures/minilm/golden.json");
    return nlohmann::json::parse(in);
  }();
  return g;
}

const TextEmbedder& embedder() {
  static const std::unique_ptr<TextEmbedder> e = TextEmbedder::open(model_dir());
  return *e;
}

TEST(Embedder, WordPieceIdsEqualHuggingFaceTokenizers) {
  HD_REQUIRE_EMBEDDER();
  const auto& g = golden();
  ASSERT_EQ(g["texts"].size(), 100u);
  int equal = 0;
  for (std::size_t i = 0; i < g["texts"].size(); ++i) {
    const auto ids = embedder().tokenizer().encode(g["texts"][i].get<std::string>(), embedder().max_tokens());
    const auto want = g["ids"][i].get<std::vector<std::int32_t>>();
    EXPECT_EQ(ids, want) << "text " << i << ": " << g["texts"][i];
    equal += ids == want;
  }
  std::cout << "WordPiece ids equal HF tokenizers on " << equal << "/100 texts\n";
}

TEST(Embedder, EmbeddingsMatchSentenceTransformers) {
  HD_REQUIRE_EMBEDDER();
  const auto& g = golden();
  const auto texts = g["texts"].get<std::vector<std::string>>();
  const std::vector<float> got = embedder().embed(texts);
  const int d = embedder().dimension();
  ASSERT_EQ(d, 384);
  double worst = 1.0, max_abs = 0.0;
  for (std::size_t i = 0; i < texts.size(); ++i) {
    const auto want = g["embeddings"][i].get<std::vector<double>>();
    double dot = 0, nw = 0, ng = 0;
    for (int c = 0; c < d; ++c) {
      const double x = got[i * d + c];
      dot += x * want[c];
      nw += want[c] * want[c];
      ng += x * x;
      max_abs = std::max(max_abs, std::abs(x - want[c]));
    }
    const double cosine = dot / std::sqrt(nw * ng);
    EXPECT_GE(cosine, 0.9999) << "text " << i << ": " << texts[i];
    EXPECT_NEAR(std::sqrt(ng), 1.0, 1e-5) << "text " << i << " is not unit length";
    worst = std::min(worst, cosine);
  }
  std::cout << "worst cosine vs sentence-transformers 1 - " << 1.0 - worst << ", largest element difference " << max_abs << "\n";
}

TEST(Embedder, BatchOfManyEqualsOneAtATime) {
  HD_REQUIRE_EMBEDDER();
  const auto texts = golden()["texts"].get<std::vector<std::string>>();
  const std::vector<float> batch = embedder().embed({texts.begin(), texts.begin() + 20});
  const int d = embedder().dimension();
  for (int i = 0; i < 20; ++i) {
    const std::vector<float> one = embedder().embed({texts[i]});
    for (int c = 0; c < d; ++c) ASSERT_NEAR(batch[i * d + c], one[c], 1e-5) << "text " << i;
  }
}

TEST(Embedder, ModelIdNamesFolderAndWeights) {
  HD_REQUIRE_EMBEDDER();
  EXPECT_EQ(embedder().model_id().rfind(model_dir().filename().string() + "@", 0), 0u) << embedder().model_id();
}

// The GPU path against the CPU path on the same weights (the CPU path is the one proven against
// sentence-transformers above). Any model of this architecture will do: on the GPU machine the
// weights are random (scripts/fixtures/make_random_minilm.py), since the real ones do not travel.
TEST(CudaEmbedder, MatchesTheCpuPathOnTheSameWeights) {
  HD_REQUIRE_CUDA_DEVICE();
  HD_REQUIRE_EMBEDDER();
  const auto cpu = TextEmbedder::open(model_dir(), EmbedderDevice::cpu);
  const auto gpu = TextEmbedder::open(model_dir(), EmbedderDevice::cuda);
  ASSERT_STREQ(gpu->device_name(), "cuda");
  const auto texts = golden()["texts"].get<std::vector<std::string>>();
  const std::vector<float> on_gpu = gpu->embed(texts);
  const std::vector<float> on_cpu = cpu->embed(texts);
  const int d = gpu->dimension();
  double worst = 1.0, max_diff = 0.0;
  for (std::size_t i = 0; i < texts.size(); ++i) {
    double dot = 0;
    for (int c = 0; c < d; ++c) {
      dot += static_cast<double>(on_gpu[i * d + c]) * on_cpu[i * d + c];
      max_diff = std::max(max_diff, static_cast<double>(std::abs(on_gpu[i * d + c] - on_cpu[i * d + c])));
    }
    EXPECT_GE(dot, 0.99999) << "text " << i;  // both unit length: the dot product is the cosine
    worst = std::min(worst, dot);
  }
  EXPECT_LT(max_diff, 1e-5);
  std::cout << "CUDA vs CPU embedder: worst cosine 1 - " << 1.0 - worst << ", largest element difference " << max_diff
            << "\n";
  const std::vector<float> one = gpu->embed({texts[57]});  // alone = in the packed batch
  for (int c = 0; c < d; ++c) EXPECT_NEAR(one[c], on_gpu[57 * d + c], 1e-6);
}

// A copy of the model folder with one file replaced, to see the error it gives.
std::filesystem::path broken_copy(const test::TempDir& tmp, const std::string& file, const std::string& contents) {
  const auto dir = tmp.path() / "model";
  std::filesystem::create_directories(dir);
  for (const char* f : {"config.json", "vocab.txt", "sentence_bert_config.json"}) {
    std::filesystem::copy_file(model_dir() / f, dir / f);
  }
  std::filesystem::create_symlink(model_dir() / "model.safetensors", dir / "model.safetensors");
  std::filesystem::remove(dir / file);
  if (!contents.empty()) std::ofstream(dir / file, std::ios::binary) << contents;
  return dir;
}

void expect_error(const std::filesystem::path& dir, const std::string& must_mention) {
  try {
    TextEmbedder::open(dir);
    FAIL() << "opened a broken model in " << dir;
  } catch (const EmbedderError& e) {
    EXPECT_NE(std::string(e.what()).find(must_mention), std::string::npos) << e.what();
  }
}

TEST(Embedder, BrokenModelFoldersGiveErrorsNamingTheFile) {
  HD_REQUIRE_EMBEDDER();
  test::TempDir tmp;
  expect_error(tmp.path() / "nowhere", "scripts/setup");
  {
    test::TempDir t;
    expect_error(broken_copy(t, "config.json", "{\"hidden_size\": 384"), "config.json");
  }
  {
    test::TempDir t;
    expect_error(broken_copy(t, "config.json", "{\"hidden_size\": 384, \"num_attention_heads\": 12}"), "intermediate_size");
  }
  {
    test::TempDir t;
    expect_error(broken_copy(t, "vocab.txt", "hello\nworld\n"), "vocab.txt");
  }
  {
    test::TempDir t;
    expect_error(broken_copy(t, "model.safetensors", std::string("\x10\x00\x00\x00\x00\x00\x00\x00{\"a\":", 13)),
                 "model.safetensors");
  }
  {
    // Right format, wrong shape: a word-embedding table of 10 rows.
    test::TempDir t;
    const auto dir = broken_copy(t, "model.safetensors", "");
    TensorData emb{"embeddings.word_embeddings.weight", DType::f32, {10, 384}, std::vector<unsigned char>(10 * 384 * 4)};
    write_safetensors(dir / "model.safetensors", {&emb});
    expect_error(dir, "embeddings.word_embeddings.weight");
  }
}

}  // namespace
}  // namespace hd
