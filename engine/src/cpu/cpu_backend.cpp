// The CPU reference backend: StripedHyena as one readable per-layer loop.
//   attention block: x += out_proj(attention(rotary(Wqkv rmsnorm(x))));  x += mlp(rmsnorm(x))
//   Hyena block:     x += dense(x2 * longconv(x1 * v));  [x2|x1|v] = fir(proj(rmsnorm(x)))
//                    x += mlp(rmsnorm(x))
//   logits = unembed(rmsnorm(x))
#include <omp.h>

#include <cstring>
#include <memory>

#include "cpu_ops.h"
#include "cpu_weights.h"
#include "hd/engine/backend.h"
#include "hd/engine/checkpoint.h"
#include "hd/engine/saved_state_file.h"

#include <cblas.h>  // openblas_set_num_threads

namespace hd::cpu {
namespace {

// The CPU keeps the host form itself.
struct CpuState final : BackendState {
  explicit CpuState(InferenceState s) : host(std::move(s)) {}
  std::int64_t position() const override { return host.position; }
  std::uint64_t bytes() const override { return host.bytes(); }
  InferenceState host;
};

// A saved state as one flat buffer, block by block: attention K then V ([position, kv_width]
// float32 each), Hyena FIR then IIR. Flat, so the disk tier writes and reads it as it is.
struct CpuSaved final : SavedState {
  CpuSaved(std::int64_t pos, std::size_t n, const void* o) : owner(o), position_(pos), data(n) {}
  const void* owner;  // the backend (weights, layout) the state belongs to
  std::int64_t position_;
  std::vector<std::byte> data;
  std::int64_t position() const override { return position_; }
  std::uint64_t bytes() const override { return data.size(); }
  std::span<const std::byte> host_bytes() const override { return data; }
  std::span<std::byte> writable_host_bytes() override { return data; }
};

// The flat size of a state at `position` for `config`.
std::uint64_t flat_bytes(const ModelConfig& config, std::int64_t position) {
  const InferenceState empty = InferenceState::empty_for(config);
  std::uint64_t n = 0;
  for (std::size_t i = 0; i < empty.kinds.size(); ++i) {
    if (empty.kinds[i] == BlockKind::attention) {
      n += 2ull * static_cast<std::uint64_t>(position) * empty.attention[i].kv_width * sizeof(float);
    } else {
      n += empty.hyena[i].fir.size() * sizeof(float) + empty.hyena[i].iir.size() * sizeof(std::complex<float>);
    }
  }
  return n;
}

// Visits every array of `s` in the flat order, with its size in bytes.
template <typename State, typename F>
void for_each_array(State& s, F&& f) {
  for (std::size_t i = 0; i < s.kinds.size(); ++i) {
    if (s.kinds[i] == BlockKind::attention) {
      f(s.attention[i].k.data(), s.attention[i].k.size() * sizeof(float));
      f(s.attention[i].v.data(), s.attention[i].v.size() * sizeof(float));
    } else {
      f(s.hyena[i].fir.data(), s.hyena[i].fir.size() * sizeof(float));
      f(s.hyena[i].iir.data(), s.hyena[i].iir.size() * sizeof(std::complex<float>));
    }
  }
}

class CpuBackend final : public Backend {
 public:
  CpuBackend(const Checkpoint& ck, const CpuBackendOptions& options)
      : config_(ck.config()), weights_(ModelWeights::from_checkpoint(ck)), saved_layout_(layout_tag("cpu-float32-flat-v1", config_)) {
    if (options.threads > 0) {
      omp_set_num_threads(options.threads);
      openblas_set_num_threads(options.threads);
    }
  }

  std::string name() const override { return "cpu"; }
  const ModelConfig& config() const override { return config_; }

  std::unique_ptr<BackendState> new_state(std::int64_t) const override {
    return std::make_unique<CpuState>(InferenceState::empty_for(config_));
  }
  InferenceState to_host(const BackendState& state) const override {
    return dynamic_cast<const CpuState&>(state).host;
  }
  void from_host(const InferenceState& host, BackendState& state) const override {
    dynamic_cast<CpuState&>(state).host = host;
  }
  std::unique_ptr<SavedState> save(const BackendState& state) const override {
    const InferenceState& host = dynamic_cast<const CpuState&>(state).host;
    auto saved = std::make_unique<CpuSaved>(host.position, flat_bytes(config_, host.position), this);
    std::byte* dst = saved->data.data();
    for_each_array(host, [&](const void* src, std::size_t n) {
      if (n) std::memcpy(dst, src, n);
      dst += n;
    });
    return saved;
  }
  void load(const SavedState& saved, BackendState& state) const override {
    const auto* cpu = dynamic_cast<const CpuSaved*>(&saved);
    if (!cpu || cpu->owner != this) throw std::invalid_argument("this saved state belongs to another model or backend");
    InferenceState host = InferenceState::empty_for(config_);
    host.position = cpu->position_;
    for (std::size_t i = 0; i < host.kinds.size(); ++i) {
      if (host.kinds[i] != BlockKind::attention) continue;
      const std::size_t n = static_cast<std::size_t>(host.position) * host.attention[i].kv_width;
      host.attention[i].k.resize(n);
      host.attention[i].v.resize(n);
    }
    const std::byte* src = cpu->data.data();
    for_each_array(host, [&](void* dst, std::size_t n) {
      if (n) std::memcpy(dst, src, n);
      src += n;
    });
    dynamic_cast<CpuState&>(state).host = std::move(host);
  }
  std::unique_ptr<SavedState> blank_saved(std::int64_t position, std::uint64_t bytes) const override {
    if (position < 0 || bytes != flat_bytes(config_, position)) {
      throw std::invalid_argument("a saved state of " + std::to_string(bytes) + " bytes at position " + std::to_string(position) +
                                  " does not fit this model's layout");
    }
    return std::make_unique<CpuSaved>(position, bytes, this);
  }
  std::uint64_t saved_layout() const override { return saved_layout_; }

  std::vector<float> forward(std::span<const int> tokens, BackendState& backend_state,
                             const ForwardOptions& options) const override {
    InferenceState& state = dynamic_cast<CpuState&>(backend_state).host;
    const int rows = static_cast<int>(tokens.size());
    const int d = config_.hidden_size;
    std::vector<float> x(static_cast<std::size_t>(rows) * d), normed(x.size()), delta(x.size());
    for (int r = 0; r < rows; ++r) {
      weights_.embedding.row(tokens[r], &x[static_cast<std::size_t>(r) * d]);
    }
    for (int i = 0; i < config_.num_layers; ++i) {
      const BlockWeights& b = weights_.blocks[i];
      rms_norm(x.data(), b.pre_norm.data(), normed.data(), rows, d, static_cast<float>(config_.eps));
      if (b.kind == BlockKind::attention) {
        attention_mixer(b, normed.data(), rows, state.position, state.attention[i], delta.data());
      } else {
        hyena_mixer(b, normed.data(), rows, state.hyena[i], options.long_conv, delta.data());
      }
      add(x, delta);
      rms_norm(x.data(), b.post_norm.data(), normed.data(), rows, d, static_cast<float>(config_.eps));
      gated_mlp(normed.data(), rows, b, config_.mlp_activation, delta.data());
      add(x, delta);
    }
    state.position += rows;

    // Logits for the rows asked for.
    const int first = options.all_logits ? 0 : rows - 1, out_rows = rows - first;
    const float* last = x.data() + static_cast<std::size_t>(first) * d;
    if (config_.final_norm) {
      rms_norm(last, weights_.final_norm.data(), normed.data(), out_rows, d, static_cast<float>(config_.eps));
      last = normed.data();
    }
    std::vector<float> logits(static_cast<std::size_t>(out_rows) * config_.vocab_size);
    // The output embedding is [vocab, D], laid out like a Linear weight.
    matmul_transposed(last, out_rows, weights_.output_embedding(), logits.data());
    return logits;
  }

 private:
  static void add(std::vector<float>& x, const std::vector<float>& delta) {
#pragma omp parallel for schedule(static) if (x.size() >= (1u << 15))
    for (std::int64_t i = 0; i < static_cast<std::int64_t>(x.size()); ++i) x[i] += delta[i];
  }

  void attention_mixer(const BlockWeights& b, const float* normed, int rows, std::int64_t position,
                       AttentionCache& cache, float* out) const {
    const int heads = config_.num_attention_heads, kv_heads = config_.num_kv_heads, hd = config_.head_dim();
    const int q_width = heads * hd, kv_width = kv_heads * hd, qkv_width = q_width + 2 * kv_width;
    std::vector<float> qkv(static_cast<std::size_t>(rows) * qkv_width);
    linear(normed, rows, b.wqkv, qkv.data());
    std::vector<float> q(static_cast<std::size_t>(rows) * q_width), k(static_cast<std::size_t>(rows) * kv_width),
        v(k.size());
    for (int r = 0; r < rows; ++r) {
      const float* row = &qkv[static_cast<std::size_t>(r) * qkv_width];
      std::memcpy(&q[static_cast<std::size_t>(r) * q_width], row, sizeof(float) * q_width);
      std::memcpy(&k[static_cast<std::size_t>(r) * kv_width], row + q_width, sizeof(float) * kv_width);
      std::memcpy(&v[static_cast<std::size_t>(r) * kv_width], row + q_width + kv_width, sizeof(float) * kv_width);
    }
    rotary(q.data(), rows, heads, hd, position, config_.rotary_emb_base, config_.rotary_scaling_factor);
    rotary(k.data(), rows, kv_heads, hd, position, config_.rotary_emb_base, config_.rotary_scaling_factor);
    cache.k.insert(cache.k.end(), k.begin(), k.end());
    cache.v.insert(cache.v.end(), v.begin(), v.end());
    std::vector<float> mixed(q.size());
    attention(q.data(), cache.k.data(), cache.v.data(), rows, position, heads, kv_heads, hd, mixed.data());
    linear(mixed.data(), rows, b.out_proj, out);
  }

  void hyena_mixer(const BlockWeights& b, const float* normed, int rows, HyenaState& st, LongConvMethod method,
                   float* out) const {
    const int d = config_.hidden_size, channels = 3 * d, taps = config_.short_filter_length;
    std::vector<float> z(static_cast<std::size_t>(rows) * channels), zf(z.size());
    linear(normed, rows, b.projections, z.data());
    short_fir(z.data(), rows, channels, taps, b.fir_weight.data(), b.fir_bias.empty() ? nullptr : b.fir_bias.data(),
              st.fir, zf.data());
    // Split the 3D channels into x2, x1, v. With column_split_hyena each of the H heads holds
    // [x2 | x1 | v] of head_dim each; otherwise the three are contiguous thirds.
    const int hd = config_.head_dim();
    std::vector<float> x2(static_cast<std::size_t>(rows) * d), u(x2.size());
#pragma omp parallel for schedule(static) if (x2.size() >= (1u << 15))
    for (int r = 0; r < rows; ++r) {
      const float* src = &zf[static_cast<std::size_t>(r) * channels];
      for (int c = 0; c < d; ++c) {
        int i_x2, i_x1, i_v;
        if (config_.column_split_hyena) {
          const int h = c / hd, j = c % hd;
          i_x2 = h * 3 * hd + j;
          i_x1 = i_x2 + hd;
          i_v = i_x2 + 2 * hd;
        } else {
          i_x2 = c;
          i_x1 = d + c;
          i_v = 2 * d + c;
        }
        x2[static_cast<std::size_t>(r) * d + c] = src[i_x2];
        u[static_cast<std::size_t>(r) * d + c] = src[i_x1] * src[i_v];
      }
    }
    std::vector<float> y(u.size());
    if (method == LongConvMethod::fft && rows > 1) {  // automatic: the recurrence, measured faster here
      long_conv_fft(u.data(), rows, d, config_.state_size, b, st.iir, y.data());
    } else {
      long_conv_recurrence(u.data(), rows, d, config_.state_size, b, st.iir, y.data());
    }
#pragma omp parallel for schedule(static) if (y.size() >= (1u << 15))
    for (std::int64_t i = 0; i < static_cast<std::int64_t>(y.size()); ++i) y[i] *= x2[i];
    linear(y.data(), rows, b.out_dense, out);
  }

  ModelConfig config_;
  ModelWeights weights_;
  std::uint64_t saved_layout_;
};

}  // namespace
}  // namespace hd::cpu

namespace hd {

std::unique_ptr<Backend> make_cpu_backend(const Checkpoint& checkpoint, const CpuBackendOptions& options) {
  return std::make_unique<cpu::CpuBackend>(checkpoint, options);
}

}  // namespace hd
