#include "hd/engine/random_checkpoint.h"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <numbers>

#include <nlohmann/json.hpp>

#include "hd/engine/safetensors.h"
#include "hd/engine/tensor_names.h"

namespace hd {
namespace {

namespace fs = std::filesystem;

// splitmix64: small, fast, and good enough for test weights; seeded per tensor so every
// tensor's values depend only on (seed, name), whatever else the checkpoint holds.
struct Rng {
  std::uint64_t state;
  std::uint64_t next() {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }        // [0, 1)
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
};

std::uint64_t name_seed(std::uint64_t seed, const std::string& name) {
  return seed * 0x100000001b3ull ^ std::hash<std::string>{}(name);
}

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// Values for one tensor, with scales that keep activations of order one through the blocks.
std::vector<float> random_values(const TensorSpec& spec, std::uint64_t seed) {
  Rng rng{name_seed(seed, spec.name)};
  std::int64_t n = 1;
  for (auto d : spec.shape) n *= d;
  std::vector<float> v(static_cast<std::size_t>(n));
  const std::string& name = spec.name;
  if (ends_with(name, "filter.poles")) {
    // Poles near the unit circle so the long convolution reaches far back (see docs).
    for (std::size_t i = 0; i < v.size(); i += 2) {
      double r = rng.uniform(0.5, 0.999), theta = rng.uniform(0.0, std::numbers::pi);
      v[i] = static_cast<float>(r * std::cos(theta));
      v[i + 1] = static_cast<float>(r * std::sin(theta));
    }
  } else if (ends_with(name, "filter.residues") || ends_with(name, "filter.D")) {
    for (auto& x : v) x = static_cast<float>(rng.uniform(-1.0, 1.0));
  } else if (ends_with(name, ".scale")) {
    for (auto& x : v) x = static_cast<float>(1.0 + rng.uniform(-0.2, 0.2));
  } else if (ends_with(name, ".bias")) {
    for (auto& x : v) x = static_cast<float>(rng.uniform(-0.1, 0.1));
  } else if (name == "embedding_layer.weight") {
    for (auto& x : v) x = static_cast<float>(rng.uniform(-1.0, 1.0));
  } else {
    // Linear and FIR weights [out, in, ...]: uniform with variance 1/fan_in.
    std::int64_t fan_in = 1;
    for (std::size_t k = 1; k < spec.shape.size(); ++k) fan_in *= spec.shape[k];
    const double a = std::sqrt(3.0 / static_cast<double>(fan_in));
    for (auto& x : v) x = static_cast<float>(rng.uniform(-a, a));
  }
  return v;
}

TensorData encode(const std::string& name, const std::vector<std::int64_t>& shape, const std::vector<float>& values,
                  DType dtype) {
  TensorData t{name, dtype, shape, {}};
  t.bytes.resize(values.size() * dtype_size(dtype));
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (dtype == DType::f32) {
      std::memcpy(t.bytes.data() + 4 * i, &values[i], 4);
    } else {
      std::uint16_t h = dtype == DType::bf16 ? float_to_bf16(values[i]) : float_to_f16(values[i]);
      std::memcpy(t.bytes.data() + 2 * i, &h, 2);
    }
  }
  return t;
}

}  // namespace

void write_random_checkpoint(const ModelConfig& config, const fs::path& dir, const RandomCheckpointOptions& options) {
  fs::create_directories(dir);
  const std::vector<TensorSpec> specs = expected_tensors(config);

  // Assign tensors to shards in model order, each shard at most max_shard_bytes (one
  // oversized tensor gets a shard of its own).
  std::vector<std::vector<const TensorSpec*>> shards(1);
  std::uint64_t in_shard = 0;
  for (const TensorSpec& s : specs) {
    std::uint64_t n = 1;
    for (auto d : s.shape) n *= static_cast<std::uint64_t>(d);
    std::uint64_t bytes = n * dtype_size(s.float32_required ? DType::f32 : options.dtype);
    if (in_shard > 0 && in_shard + bytes > options.max_shard_bytes) {
      shards.emplace_back();
      in_shard = 0;
    }
    shards.back().push_back(&s);
    in_shard += bytes;
  }

  nlohmann::json weight_map = nlohmann::json::object();
  std::uint64_t total = 0;
  const std::string prefix = options.hf_prefix ? kHfPrefix : "";
  for (std::size_t k = 0; k < shards.size(); ++k) {
    char file[64];
    std::snprintf(file, sizeof file, "model-%05zu-of-%05zu.safetensors", k + 1, shards.size());
    std::vector<TensorData> data;
    data.reserve(shards[k].size());
    for (const TensorSpec* s : shards[k]) {
      DType dt = s->float32_required ? DType::f32 : options.dtype;
      data.push_back(encode(prefix + s->name, s->shape, random_values(*s, options.seed), dt));
      weight_map[prefix + s->name] = file;
      total += data.back().bytes.size();
    }
    std::vector<const TensorData*> ptrs;
    for (const auto& t : data) ptrs.push_back(&t);
    // Marked, so that no front end ever shows this model's output as an answer.
    write_safetensors(dir / file, ptrs, {{"format", "pt"}, {"hyenadesk_random_weights", "seed " + std::to_string(options.seed)}});
  }
  nlohmann::json index = {{"metadata", {{"total_size", total}}}, {"weight_map", weight_map}};
  std::ofstream(dir / "model.safetensors.index.json") << index.dump(2) << "\n";
  std::ofstream(dir / "config.json") << config.to_json().dump(2) << "\n";
  if (!options.tokenizer_json.empty()) {
    fs::copy_file(options.tokenizer_json, dir / "tokenizer.json", fs::copy_options::overwrite_existing);
  }
}

}  // namespace hd
