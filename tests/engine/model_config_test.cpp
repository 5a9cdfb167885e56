#include <gtest/gtest.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "hd/engine/model_config.h"
#include "hd/engine/model_presets.h"

namespace hd {
namespace {

using nlohmann::json;

const std::string kSevenBConfig = std::string(HD_SOURCE_DIR) + "/tests/engine/data/stripedhyena-7b-config.json";

json seven_b_json() {
  std::ifstream in(kSevenBConfig);
  return json::parse(in);
}

void expect_config_error(const json& j, const std::string& fragment) {
  try {
    ModelConfig::from_json(j, "cfg.json");
    FAIL() << "expected ConfigError mentioning \"" << fragment << "\"";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("cfg.json"), std::string::npos) << "error must name the file: " << e.what();
  }
}

TEST(ModelConfig, ReadsTheSevenBConfigAsShipped) {
  ModelConfig c = ModelConfig::from_file(kSevenBConfig);
  EXPECT_EQ(c.vocab_size, 32000);
  EXPECT_EQ(c.hidden_size, 4096);
  EXPECT_EQ(c.num_layers, 32);
  ASSERT_EQ(c.blocks.size(), 32u);
  for (int i = 0; i < 32; ++i) {
    EXPECT_EQ(c.blocks[i], i % 2 ? BlockKind::attention : BlockKind::hyena) << "layer " << i;
  }
  EXPECT_EQ(c.num_attention_heads, 32);
  EXPECT_EQ(c.num_kv_heads, 8);
  EXPECT_EQ(c.head_dim(), 128);
  EXPECT_EQ(c.inner_mlp_size, 14336);
  EXPECT_EQ(c.state_size, 2);
  EXPECT_DOUBLE_EQ(c.rotary_emb_base, 500000);
  EXPECT_FALSE(c.tie_embeddings);
  EXPECT_FALSE(c.qkv_proj_bias);
  EXPECT_TRUE(c.column_split_hyena);
  EXPECT_EQ(c.max_seqlen, 32768);
  EXPECT_TRUE(c.unknown_keys.empty());
  // About 7.6 B parameters (docs/stripedhyena.md).
  EXPECT_NEAR(static_cast<double>(c.parameter_count()), 7.6e9, 0.1e9);
  // 64 KiB of KV cache per token: 8 GiB at 128k tokens.
  EXPECT_EQ(c.kv_cache_bytes(131072), 8ull << 30);
}

TEST(ModelConfig, SevenBPresetEqualsTheShippedConfig) {
  ModelConfig shipped = ModelConfig::from_file(kSevenBConfig);
  ModelConfig preset = preset_config("7b");
  EXPECT_EQ(preset.to_json(), ModelConfig::from_json(preset.to_json(), "p").to_json());
  EXPECT_EQ(shipped.parameter_count(), preset.parameter_count());
  EXPECT_EQ(shipped.blocks, preset.blocks);
}

TEST(ModelConfig, RoundTripsThroughJsonForEveryPreset) {
  for (const auto& name : preset_names()) {
    ModelConfig c = preset_config(name);
    ModelConfig back = ModelConfig::from_json(c.to_json(), name);
    EXPECT_EQ(back.to_json(), c.to_json()) << name;
    EXPECT_EQ(back.parameter_count(), c.parameter_count()) << name;
  }
}

TEST(ModelConfig, AcceptsAttentionOnlyAndHyenaOnlyPatterns) {
  json j = seven_b_json();
  j["num_layers"] = 3;
  j["attn_layer_idxs"] = {0, 1, 2};
  j["hyena_layer_idxs"] = json::array();
  EXPECT_EQ(ModelConfig::from_json(j, "a").num_hyena_blocks(), 0);
  j["attn_layer_idxs"] = json::array();
  j["hyena_layer_idxs"] = {0, 1, 2};
  EXPECT_EQ(ModelConfig::from_json(j, "h").num_attention_blocks(), 0);
}

TEST(ModelConfig, DerivesMlpSizeLikeTheReferenceWhenAbsent) {
  json j = seven_b_json();
  j.erase("inner_mlp_size");
  j["hidden_size"] = 96;
  j["num_filters"] = 96;
  j["num_attention_heads"] = 4;
  // int(2 * 96 * 4 / 3) = 256, rounded up to a multiple of 64 = 256
  EXPECT_EQ(ModelConfig::from_json(j, "c").inner_mlp_size, 256);
  j["hidden_size"] = 100;
  j["num_filters"] = 100;
  // int(266.67) = 266 -> 320
  EXPECT_EQ(ModelConfig::from_json(j, "c").inner_mlp_size, 320);
}

TEST(ModelConfig, RejectsMissingAndMalformedValuesNamingTheKey) {
  json j = seven_b_json();
  j.erase("hidden_size");
  expect_config_error(j, "\"hidden_size\": missing");
  j = seven_b_json();
  j["state_size"] = "two";
  expect_config_error(j, "\"state_size\": must be an integer");
  j = seven_b_json();
  j["vocab_size"] = -5;
  expect_config_error(j, "\"vocab_size\": must be a positive integer");
  j = seven_b_json();
  j["mlp_activation"] = "relu";
  expect_config_error(j, "\"mlp_activation\"");
  j = seven_b_json();
  j["tie_embeddings"] = "no";
  expect_config_error(j, "\"tie_embeddings\": must be true or false");
}

TEST(ModelConfig, RejectsContradictions) {
  json j = seven_b_json();
  j["proj_groups"] = 5;
  expect_config_error(j, "do not split into 5 groups");
  j = seven_b_json();
  j["num_attention_heads"] = 30;
  expect_config_error(j, "not divisible by 30 heads");
  j = seven_b_json();
  j["attn_layer_idxs"] = {0, 1};
  expect_config_error(j, "layer 0 is listed as attention and Hyena");
  j = seven_b_json();
  j["hyena_layer_idxs"] = {0, 2};
  expect_config_error(j, "layer 4 is in neither");
  j = seven_b_json();
  j["num_filters"] = 2048;
  expect_config_error(j, "\"num_filters\": must equal hidden_size");
  j = seven_b_json();
  j["hyena_filter_groups"] = 8;
  expect_config_error(j, "\"hyena_filter_groups\"");
}

TEST(ModelConfig, ReportsUnknownKeysWithoutFailing) {
  json j = seven_b_json();
  j["some_future_option"] = 3;
  ModelConfig c = ModelConfig::from_json(j, "c");
  ASSERT_EQ(c.unknown_keys.size(), 1u);
  EXPECT_EQ(c.unknown_keys[0], "some_future_option");
}

TEST(ModelConfig, FromFileNamesTheFileOnBadJson) {
  EXPECT_THROW(ModelConfig::from_file("/nonexistent/config.json"), ConfigError);
}

TEST(ModelPresets, UnknownPresetListsTheKnownOnes) {
  try {
    preset_config("13b");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("tiny-mix"), std::string::npos);
  }
}

}  // namespace
}  // namespace hd
