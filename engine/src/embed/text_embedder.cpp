#include "hd/engine/text_embedder.h"

#include <cblas.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>

#include <nlohmann/json.hpp>

#include "bert_weights.h"
#include "hd/engine/hash.h"
#include "hd/engine/safetensors.h"
#include "hd/kernels/device.h"
#if HD_HAVE_CUDA
#include "cuda_bert_encoder.h"
#endif

namespace hd {
namespace {

using embed::Layer;
using embed::Linear;
using embed::Norm;

nlohmann::json read_json(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw EmbedderError(path.string() + ": cannot open");
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw EmbedderError(path.string() + ": not valid JSON (" + e.what() + ")");
  }
}

int json_int(const nlohmann::json& j, const char* key, const std::filesystem::path& file) {
  if (!j.contains(key) || !j[key].is_number_integer() || j[key].get<int>() <= 0) {
    throw EmbedderError(file.string() + ": needs a positive integer \"" + key + "\"");
  }
  return j[key].get<int>();
}

// y[rows, out] = x[rows, in] W^T + b
void linear(const Linear& l, const float* x, float* y, int rows) {
  for (int r = 0; r < rows; ++r) std::copy(l.bias.begin(), l.bias.end(), y + static_cast<std::size_t>(r) * l.out);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, l.out, l.in, 1.f, x, l.in, l.weight.data(), l.in, 1.f, y,
              l.out);
}

// Element-wise steps run on one thread: OpenMP regions between OpenBLAS calls cost more than
// they saved (bench_embed on 2 cores: 16.9 -> 17.8 chunks/s without them).
void layer_norm(const Norm& n, float* x, int rows, int dim, float eps) {
  for (int r = 0; r < rows; ++r) {
    float* v = x + static_cast<std::size_t>(r) * dim;
    double mean = 0, var = 0;
    for (int i = 0; i < dim; ++i) mean += v[i];
    mean /= dim;
    for (int i = 0; i < dim; ++i) var += (v[i] - mean) * (v[i] - mean);
    var /= dim;
    const float inv = static_cast<float>(1.0 / std::sqrt(var + eps));
    for (int i = 0; i < dim; ++i) v[i] = (v[i] - static_cast<float>(mean)) * inv * n.gain[i] + n.bias[i];
  }
}

}  // namespace

struct TextEmbedder::Impl : embed::BertWeights {
  WordPieceTokenizer tokenizer;
  std::string model_id;
  std::size_t max_tokens = 256;
#if HD_HAVE_CUDA
  std::unique_ptr<embed::CudaBertEncoder> cuda;
#endif
  bool on_gpu() const {
#if HD_HAVE_CUDA
    return cuda != nullptr;
#else
    return false;
#endif
  }
};

TextEmbedder::TextEmbedder(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TextEmbedder::~TextEmbedder() = default;
int TextEmbedder::dimension() const { return impl_->hidden; }
std::size_t TextEmbedder::max_tokens() const { return impl_->max_tokens; }
const WordPieceTokenizer& TextEmbedder::tokenizer() const { return impl_->tokenizer; }
const std::string& TextEmbedder::model_id() const { return impl_->model_id; }
const char* TextEmbedder::device_name() const { return impl_->on_gpu() ? "cuda" : "cpu"; }

std::unique_ptr<TextEmbedder> TextEmbedder::open(const std::filesystem::path& dir, EmbedderDevice device) {
  if (!std::filesystem::is_directory(dir)) {
    throw EmbedderError(dir.string() + ": no embedding model folder here (scripts/setup installs all-MiniLM-L6-v2)");
  }
  auto m = std::make_unique<Impl>();
  const auto config_path = dir / "config.json";
  const nlohmann::json config = read_json(config_path);
  m->hidden = json_int(config, "hidden_size", config_path);
  m->heads = json_int(config, "num_attention_heads", config_path);
  m->inter = json_int(config, "intermediate_size", config_path);
  m->max_positions = json_int(config, "max_position_embeddings", config_path);
  m->vocab = json_int(config, "vocab_size", config_path);
  const int layers = json_int(config, "num_hidden_layers", config_path);
  if (m->hidden % m->heads != 0) throw EmbedderError(config_path.string() + ": hidden_size is not a multiple of num_attention_heads");
  if (config.value("hidden_act", std::string("gelu")) != "gelu") {
    throw EmbedderError(config_path.string() + ": only hidden_act \"gelu\" is supported");
  }
  m->eps = config.value("layer_norm_eps", 1e-12f);
  if (std::filesystem::exists(dir / "sentence_bert_config.json")) {
    const auto st = read_json(dir / "sentence_bert_config.json");
    m->max_tokens = static_cast<std::size_t>(json_int(st, "max_seq_length", dir / "sentence_bert_config.json"));
  }
  m->max_tokens = std::min<std::size_t>(m->max_tokens, static_cast<std::size_t>(m->max_positions));
  m->tokenizer = WordPieceTokenizer::from_vocab_file(dir / "vocab.txt");
  if (m->tokenizer.vocab_size() != static_cast<std::size_t>(m->vocab)) {
    throw EmbedderError((dir / "vocab.txt").string() + ": " + std::to_string(m->tokenizer.vocab_size()) +
                        " tokens, config.json says vocab_size " + std::to_string(m->vocab));
  }

  const auto weights_path = dir / "model.safetensors";
  std::unique_ptr<SafetensorsFile> file;
  try {
    file = SafetensorsFile::open(weights_path);
  } catch (const WeightsError& e) {
    throw EmbedderError(e.what());
  }
  const auto& tensors = file->tensors();
  // Tensors may carry a "bert." prefix (BertModel saved inside another model).
  auto get = [&](const std::string& name, std::vector<std::int64_t> shape) {
    auto it = tensors.find(name);
    if (it == tensors.end()) it = tensors.find("bert." + name);
    if (it == tensors.end()) throw EmbedderError(weights_path.string() + ": missing tensor " + name);
    if (it->second.shape != shape) {
      std::string want = "[";
      for (std::size_t i = 0; i < shape.size(); ++i) want += (i ? ", " : "") + std::to_string(shape[i]);
      throw EmbedderError(weights_path.string() + ": tensor " + name + " has shape " + it->second.shape_text() +
                          ", expected " + want + "]");
    }
    return it->second.to_floats();
  };
  const std::int64_t h = m->hidden, in = m->inter;
  m->word_emb = get("embeddings.word_embeddings.weight", {m->vocab, h});
  m->pos_emb = get("embeddings.position_embeddings.weight", {m->max_positions, h});
  m->type_emb = get("embeddings.token_type_embeddings.weight", {config.value("type_vocab_size", 2), h});
  m->emb_norm = {get("embeddings.LayerNorm.weight", {h}), get("embeddings.LayerNorm.bias", {h})};
  auto linear_of = [&](const std::string& prefix, std::int64_t out, std::int64_t inputs) {
    return Linear{get(prefix + ".weight", {out, inputs}), get(prefix + ".bias", {out}), static_cast<int>(inputs),
                  static_cast<int>(out)};
  };
  for (int i = 0; i < layers; ++i) {
    const std::string p = "encoder.layer." + std::to_string(i) + ".";
    Layer l;
    l.query = linear_of(p + "attention.self.query", h, h);
    l.key = linear_of(p + "attention.self.key", h, h);
    l.value = linear_of(p + "attention.self.value", h, h);
    l.attn_out = linear_of(p + "attention.output.dense", h, h);
    l.attn_norm = {get(p + "attention.output.LayerNorm.weight", {h}), get(p + "attention.output.LayerNorm.bias", {h})};
    l.inter = linear_of(p + "intermediate.dense", in, h);
    l.out = linear_of(p + "output.dense", h, in);
    l.out_norm = {get(p + "output.LayerNorm.weight", {h}), get(p + "output.LayerNorm.bias", {h})};
    m->layers.push_back(std::move(l));
  }
  Fnv1a64 hash;
  hash.update(reinterpret_cast<const char*>(m->word_emb.data()), m->word_emb.size() * sizeof(float));
  for (const Layer& l : m->layers) hash.update(l.out.weight.data(), l.out.weight.size() * sizeof(float));
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(hash.digest()));
  m->model_id = dir.filename().string() + "@" + hex;
  const bool gpu_usable = query_device(0).available;
  if (device == EmbedderDevice::cuda && !gpu_usable) {
    throw EmbedderError(dir.string() + ": the CUDA embedder was asked for, but " + query_device(0).reason);
  }
#if HD_HAVE_CUDA
  if (device == EmbedderDevice::cuda || (device == EmbedderDevice::automatic && gpu_usable)) {
    m->cuda = std::make_unique<embed::CudaBertEncoder>(*m);
  }
#endif
  return std::unique_ptr<TextEmbedder>(new TextEmbedder(std::move(m)));
}

std::vector<float> TextEmbedder::embed(const std::vector<std::string>& texts) const {
  // Texts tokenize independently: on all cores (with the GPU encoding, tokenizing was a third of
  // the time on one core; bench/results/embed-*-499c6a2.json).
  std::vector<std::vector<std::int32_t>> ids(texts.size());
#pragma omp parallel for schedule(dynamic)
  for (std::size_t i = 0; i < texts.size(); ++i) ids[i] = impl_->tokenizer.encode(texts[i], impl_->max_tokens);
  return embed_ids(ids);
}

std::vector<float> TextEmbedder::embed_ids(const std::vector<std::vector<std::int32_t>>& ids) const {
  const Impl& m = *impl_;
  const int d = m.hidden, heads = m.heads, hd = d / heads;
  std::vector<int> start(ids.size() + 1, 0);
  for (std::size_t t = 0; t < ids.size(); ++t) {
    if (ids[t].empty() || ids[t].size() > static_cast<std::size_t>(m.max_positions)) {
      throw EmbedderError("embedder: a sequence of " + std::to_string(ids[t].size()) + " tokens (1 to " +
                          std::to_string(m.max_positions) + " allowed)");
    }
    start[t + 1] = start[t] + static_cast<int>(ids[t].size());
  }
  const int rows = start.back();
  std::vector<float> out(ids.size() * static_cast<std::size_t>(d), 0.f);
  if (rows == 0) return out;
  for (const auto& seq : ids) {
    for (const std::int32_t id : seq) {
      if (id < 0 || id >= m.vocab) throw EmbedderError("embedder: token id " + std::to_string(id) + " out of range");
    }
  }
#if HD_HAVE_CUDA
  if (m.cuda) return m.cuda->encode(ids);
#endif

  // Embeddings: word + position + token type 0, then LayerNorm.
  std::vector<float> x(static_cast<std::size_t>(rows) * d);
  for (std::size_t t = 0; t < ids.size(); ++t) {
    for (std::size_t i = 0; i < ids[t].size(); ++i) {
      const std::int32_t id = ids[t][i];
      float* row = x.data() + static_cast<std::size_t>(start[t] + i) * d;
      for (int c = 0; c < d; ++c) row[c] = m.word_emb[static_cast<std::size_t>(id) * d + c] + m.pos_emb[i * d + c] + m.type_emb[c];
    }
  }
  layer_norm(m.emb_norm, x.data(), rows, d, m.eps);

  std::vector<float> q(x.size()), k(x.size()), v(x.size()), ctx(x.size()), tmp(x.size());
  std::vector<float> inter(static_cast<std::size_t>(rows) * m.inter);
  const float scale = 1.f / std::sqrt(static_cast<float>(hd));
  for (const Layer& l : m.layers) {
    linear(l.query, x.data(), q.data(), rows);
    linear(l.key, x.data(), k.data(), rows);
    linear(l.value, x.data(), v.data(), rows);
    // Attention within each text, per head (no padding, so no mask), in parallel over (text,
    // head) with loops the compiler vectorizes: K transposed so scores run along keys, V rows
    // read whole. No BLAS inside: OpenBLAS called from several OpenMP threads serializes, and
    // per-head GEMMs one after another drown in thread start-ups on many cores.
#pragma omp parallel for collapse(2) schedule(dynamic)
    for (std::size_t t = 0; t < ids.size(); ++t) {
      for (int h = 0; h < heads; ++h) {
        const int n = start[t + 1] - start[t];
        const std::size_t base = static_cast<std::size_t>(start[t]) * d + static_cast<std::size_t>(h) * hd;
        std::vector<float> kt(static_cast<std::size_t>(hd) * n), w(n), acc(hd);
        for (int j = 0; j < n; ++j) {
          for (int c = 0; c < hd; ++c) kt[static_cast<std::size_t>(c) * n + j] = k[base + static_cast<std::size_t>(j) * d + c];
        }
        for (int i = 0; i < n; ++i) {
          const float* qi = q.data() + base + static_cast<std::size_t>(i) * d;
          std::fill(w.begin(), w.end(), 0.f);
          for (int c = 0; c < hd; ++c) {
            const float qc = qi[c] * scale;
            const float* kc = kt.data() + static_cast<std::size_t>(c) * n;
#pragma omp simd
            for (int j = 0; j < n; ++j) w[j] += qc * kc[j];
          }
          float mx = -INFINITY, sum = 0.f;
          for (int j = 0; j < n; ++j) mx = std::max(mx, w[j]);
          for (int j = 0; j < n; ++j) sum += w[j] = std::exp(w[j] - mx);
          std::fill(acc.begin(), acc.end(), 0.f);
          for (int j = 0; j < n; ++j) {
            const float p = w[j] / sum;
            const float* vj = v.data() + base + static_cast<std::size_t>(j) * d;
#pragma omp simd
            for (int c = 0; c < hd; ++c) acc[c] += p * vj[c];
          }
          std::copy(acc.begin(), acc.end(), ctx.data() + base + static_cast<std::size_t>(i) * d);
        }
      }
    }
    linear(l.attn_out, ctx.data(), tmp.data(), rows);
    for (std::size_t i = 0; i < x.size(); ++i) x[i] += tmp[i];
    layer_norm(l.attn_norm, x.data(), rows, d, m.eps);
    linear(l.inter, x.data(), inter.data(), rows);
    for (std::size_t i = 0; i < inter.size(); ++i) inter[i] = 0.5f * inter[i] * (1.f + std::erf(inter[i] * 0.70710678118654752f));
    linear(l.out, inter.data(), tmp.data(), rows);
    for (std::size_t i = 0; i < x.size(); ++i) x[i] += tmp[i];
    layer_norm(l.out_norm, x.data(), rows, d, m.eps);
  }

  // Mean over the text's tokens, then unit length.
  for (std::size_t t = 0; t < ids.size(); ++t) {
    float* e = out.data() + t * d;
    const int n = start[t + 1] - start[t];
    for (int i = 0; i < n; ++i) {
      const float* row = x.data() + static_cast<std::size_t>(start[t] + i) * d;
      for (int c = 0; c < d; ++c) e[c] += row[c];
    }
    double norm = 0;
    for (int c = 0; c < d; ++c) {
      e[c] /= static_cast<float>(n);
      norm += static_cast<double>(e[c]) * e[c];
    }
    const float inv = static_cast<float>(1.0 / std::max(std::sqrt(norm), 1e-12));
    for (int c = 0; c < d; ++c) e[c] *= inv;
  }
  return out;
}

}  // namespace hd
