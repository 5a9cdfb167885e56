// Model folders: sharded random checkpoints load; each way a folder can be wrong is refused
// with a message naming the file and tensor.
#include <gtest/gtest.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "hd/engine/checkpoint.h"
#include "hd/engine/model_presets.h"
#include "hd/engine/random_checkpoint.h"
#include "hd/engine/tensor_names.h"
#include "support/temp_dir.h"

namespace hd {
namespace {

using nlohmann::json;
using test::TempDir;

std::string open_error(const std::filesystem::path& dir, const CheckpointOptions& options = {}) {
  try {
    Checkpoint::open(dir, options);
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

// Rewrites one shard of `dir` with `edit` applied to its tensor list.
void rewrite_shard_of(const std::filesystem::path& dir, const std::string& tensor,
                      const std::function<void(std::vector<TensorData>&)>& edit) {
  json index = json::parse(std::ifstream(dir / "model.safetensors.index.json"));
  std::string file = index["weight_map"][tensor];
  std::vector<TensorData> tensors;
  {
    auto f = SafetensorsFile::open(dir / file);
    for (const auto& [name, v] : f->tensors()) {
      tensors.push_back({name, v.dtype, v.shape, std::vector<unsigned char>(v.data, v.data + v.nbytes)});
    }
  }
  edit(tensors);
  std::vector<const TensorData*> ptrs;
  for (const auto& t : tensors) ptrs.push_back(&t);
  write_safetensors(dir / file, ptrs);
}

class CheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RandomCheckpointOptions o;
    o.seed = 3;
    o.max_shard_bytes = 64 << 10;  // several shards even for the tiny model
    write_random_checkpoint(preset_config("tiny"), dir_.path(), o);
  }
  TempDir dir_;
};

TEST_F(CheckpointTest, LoadsShardedRandomCheckpointWithHfPrefix) {
  auto ck = Checkpoint::open(dir_.path());
  EXPECT_GT(ck->files().size(), 2u);
  EXPECT_EQ(ck->config().num_layers, 4);
  std::int64_t params = 0;
  for (auto [dtype, n] : ck->parameters_by_dtype()) params += n;
  EXPECT_EQ(params, ck->config().parameter_count());
  EXPECT_EQ(ck->tensor("blocks.0.filter.poles").dtype, DType::f32);
  EXPECT_EQ(ck->tensor("blocks.1.inner_mha_cls.Wqkv.weight").dtype, DType::bf16);
  EXPECT_TRUE(ck->warnings().empty());
}

TEST_F(CheckpointTest, SameSeedGivesIdenticalWeightsAndPolesInsideUnitDisk) {
  TempDir again;
  RandomCheckpointOptions o;
  o.seed = 3;
  write_random_checkpoint(preset_config("tiny"), again.path(), o);
  auto a = Checkpoint::open(dir_.path()), b = Checkpoint::open(again.path());
  for (const auto& spec : expected_tensors(a->config())) {
    EXPECT_EQ(a->tensor(spec.name).to_floats(), b->tensor(spec.name).to_floats()) << spec.name;
  }
  std::vector<float> poles = a->tensor("blocks.0.filter.poles").to_floats();
  for (std::size_t i = 0; i < poles.size(); i += 2) {
    double r = std::hypot(poles[i], poles[i + 1]);
    EXPECT_GE(r, 0.5 - 1e-6);
    EXPECT_LE(r, 0.999 + 1e-6);
  }
}

TEST_F(CheckpointTest, RefusesMissingTensor) {
  rewrite_shard_of(dir_.path(), "backbone.norm.scale", [](std::vector<TensorData>& t) {
    std::erase_if(t, [](const TensorData& d) { return d.name == "backbone.norm.scale"; });
  });
  std::string err = open_error(dir_.path());
  EXPECT_NE(err.find("\"backbone.norm.scale\" is listed in the index but not in the shard"), std::string::npos) << err;
}

TEST_F(CheckpointTest, RefusesTensorMissingFromShardAndIndex) {
  rewrite_shard_of(dir_.path(), "backbone.norm.scale", [](std::vector<TensorData>& t) {
    std::erase_if(t, [](const TensorData& d) { return d.name == "backbone.norm.scale"; });
  });
  json index = json::parse(std::ifstream(dir_.path() / "model.safetensors.index.json"));
  index["weight_map"].erase("backbone.norm.scale");
  std::ofstream(dir_.path() / "model.safetensors.index.json") << index.dump();
  std::string err = open_error(dir_.path());
  EXPECT_NE(err.find("tensor \"norm.scale\" is missing (the config needs it)"), std::string::npos) << err;
}

TEST_F(CheckpointTest, RefusesWrongShape) {
  rewrite_shard_of(dir_.path(), "backbone.blocks.0.filter.D", [](std::vector<TensorData>& t) {
    for (auto& d : t) {
      if (d.name == "backbone.blocks.0.filter.D") {
        d.shape = {d.shape[0] / 2, 2};
      }
    }
  });
  std::string err = open_error(dir_.path());
  EXPECT_NE(err.find("\"blocks.0.filter.D\" has shape [32, 2], the config needs [64]"), std::string::npos) << err;
}

TEST_F(CheckpointTest, RefusesBf16PolesUnlessAllowedAndThenWarns) {
  rewrite_shard_of(dir_.path(), "backbone.blocks.2.filter.poles", [](std::vector<TensorData>& t) {
    for (auto& d : t) {
      if (d.name != "backbone.blocks.2.filter.poles") continue;
      std::vector<unsigned char> bf;
      for (std::size_t i = 0; i < d.bytes.size(); i += 4) {
        float f;
        std::memcpy(&f, &d.bytes[i], 4);
        std::uint16_t h = float_to_bf16(f);
        bf.push_back(static_cast<unsigned char>(h & 0xff));
        bf.push_back(static_cast<unsigned char>(h >> 8));
      }
      d.bytes = bf;
      d.dtype = DType::bf16;
    }
  });
  std::string err = open_error(dir_.path());
  EXPECT_NE(err.find("\"blocks.2.filter.poles\" is stored in BF16"), std::string::npos) << err;
  EXPECT_NE(err.find("must stay float32"), std::string::npos) << err;
  CheckpointOptions allow;
  allow.allow_low_precision_poles = true;
  auto ck = Checkpoint::open(dir_.path(), allow);
  ASSERT_EQ(ck->warnings().size(), 1u);
  EXPECT_NE(ck->warnings()[0].find("upcast to float32"), std::string::npos);
}

TEST_F(CheckpointTest, AcceptsTheHfWrappersLeftoversButNotOtherExtras) {
  rewrite_shard_of(dir_.path(), "backbone.norm.scale", [](std::vector<TensorData>& t) {
    t.push_back({"backbone.blocks.0.filter.fftconv_fn.twiddle_factors", DType::f32, {2}, std::vector<unsigned char>(8)});
    t.push_back({"backbone.blocks.1.inner_mha_cls.rotary_emb.inv_freq", DType::f32, {8}, std::vector<unsigned char>(32)});
  });
  // The index must list them too; otherwise the shard disagrees with it.
  json index = json::parse(std::ifstream(dir_.path() / "model.safetensors.index.json"));
  std::string file = index["weight_map"]["backbone.norm.scale"];
  index["weight_map"]["backbone.blocks.0.filter.fftconv_fn.twiddle_factors"] = file;
  index["weight_map"]["backbone.blocks.1.inner_mha_cls.rotary_emb.inv_freq"] = file;
  std::ofstream(dir_.path() / "model.safetensors.index.json") << index.dump();
  EXPECT_EQ(open_error(dir_.path()), "");

  rewrite_shard_of(dir_.path(), "backbone.norm.scale", [](std::vector<TensorData>& t) {
    t.push_back({"backbone.blocks.0.mystery", DType::f32, {1}, std::vector<unsigned char>(4)});
  });
  index["weight_map"]["backbone.blocks.0.mystery"] = file;
  std::ofstream(dir_.path() / "model.safetensors.index.json") << index.dump();
  std::string err = open_error(dir_.path());
  EXPECT_NE(err.find("\"blocks.0.mystery\" is not part of this model's config"), std::string::npos) << err;
  CheckpointOptions allow;
  allow.allow_unknown_tensors = true;
  EXPECT_EQ(Checkpoint::open(dir_.path(), allow)->warnings().size(), 1u);
}

TEST_F(CheckpointTest, RefusesTruncatedShardNamingIt) {
  json index = json::parse(std::ifstream(dir_.path() / "model.safetensors.index.json"));
  std::string file = index["weight_map"]["backbone.embedding_layer.weight"];
  std::string bytes = test::read_file(dir_.path() / file);
  test::write_file(dir_.path() / file, bytes.substr(0, bytes.size() / 2));
  std::string err = open_error(dir_.path());
  EXPECT_NE(err.find(file), std::string::npos) << err;
  EXPECT_NE(err.find("truncated"), std::string::npos) << err;
}

TEST_F(CheckpointTest, RefusesMissingShard) {
  json index = json::parse(std::ifstream(dir_.path() / "model.safetensors.index.json"));
  std::string file = index["weight_map"]["backbone.unembed.weight"];
  std::filesystem::remove(dir_.path() / file);
  EXPECT_NE(open_error(dir_.path()).find("is missing"), std::string::npos);
}

TEST(Checkpoint, RefusesPickleCheckpointsPointingToSafetensors) {
  TempDir dir;
  std::ofstream(dir / "config.json") << preset_config("tiny").to_json().dump();
  test::write_file(dir / "pytorch_model.bin", "PK\x03\x04 pickle");
  std::string err = open_error(dir.path());
  EXPECT_NE(err.find("pickle checkpoints are refused"), std::string::npos) << err;
  EXPECT_NE(err.find("safetensors"), std::string::npos) << err;
}

TEST(Checkpoint, LoadsSingleFileWithBareNames) {
  TempDir dir;
  RandomCheckpointOptions o;
  o.hf_prefix = false;
  o.dtype = DType::f32;
  write_random_checkpoint(preset_config("tiny-mix"), dir.path(), o);
  // Collapse the shards into one model.safetensors, as the plain reference saves it.
  std::vector<TensorData> all;
  {
    auto ck = Checkpoint::open(dir.path());
    for (const auto& f : ck->files()) {
      for (const auto& [name, v] : f->tensors()) {
        all.push_back({name, v.dtype, v.shape, std::vector<unsigned char>(v.data, v.data + v.nbytes)});
      }
    }
    for (const auto& f : ck->files()) std::filesystem::remove(f->path());
  }
  std::filesystem::remove(dir / "model.safetensors.index.json");
  std::vector<const TensorData*> ptrs;
  for (const auto& t : all) ptrs.push_back(&t);
  write_safetensors(dir / "model.safetensors", ptrs);
  auto ck = Checkpoint::open(dir.path());
  EXPECT_EQ(ck->files().size(), 1u);
  EXPECT_EQ(ck->config().state_size, 4);
  EXPECT_TRUE(ck->has("unembed.weight"));
}

TEST(Checkpoint, RefusesFolderWithoutWeights) {
  TempDir dir;
  std::ofstream(dir / "config.json") << preset_config("tiny").to_json().dump();
  EXPECT_NE(open_error(dir.path()).find("no model.safetensors"), std::string::npos);
  EXPECT_NE(open_error(dir / "nope").find("not a model folder"), std::string::npos);
}

}  // namespace
}  // namespace hd
