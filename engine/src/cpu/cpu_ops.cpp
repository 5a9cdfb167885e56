#include "cpu_ops.h"

#include <cstring>

#include <cblas.h>
#include <kiss_fftr.h>

#include <algorithm>
#include <cmath>
#include <memory>

namespace hd::cpu {
namespace {
// Below this many elements a loop runs on the calling thread: waking the OpenMP team costs
// more than the loop, and idle team threads spin against OpenBLAS's own threads (decode does
// many such small loops per token).
constexpr std::int64_t kParallelMin = 1 << 15;
}  // namespace

void rms_norm(const float* x, const float* scale, float* out, int rows, int dim, float eps) {
#pragma omp parallel for schedule(static) if (static_cast<std::int64_t>(rows) * dim >= kParallelMin)
  for (int r = 0; r < rows; ++r) {
    const float* xr = x + static_cast<std::size_t>(r) * dim;
    double sum = 0;
    for (int i = 0; i < dim; ++i) sum += static_cast<double>(xr[i]) * xr[i];
    const float inv = static_cast<float>(1.0 / std::sqrt(sum / dim + eps));
    float* o = out + static_cast<std::size_t>(r) * dim;
    for (int i = 0; i < dim; ++i) o[i] = xr[i] * inv * scale[i];
  }
}

// Up to this many input rows, bf16 products read the weights directly (see matmul_transposed).
constexpr int kDirectRows = 4;  // measured: the block-converted sgemm wins from a few rows on

void matmul_transposed(const float* x, int rows, const Matrix& w, float* y) {
  if (rows == 0) return;
  const int in = w.cols, out = w.rows;
  if (w.bf16.empty()) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, out, in, 1.0f, x, in, w.f32.data(), in, 0.0f, y, out);
    return;
  }
  if (rows <= kDirectRows) {
    // Decode and short prompts: read each bf16 weight row once, for every input row, in parallel
    // over output rows (converting the whole matrix for a few rows costs more than the product).
#pragma omp parallel for schedule(static)
    for (int o = 0; o < out; ++o) {
      const std::uint16_t* wr = w.bf16.data() + static_cast<std::size_t>(o) * in;
      for (int r = 0; r < rows; ++r) {
        const float* xr = x + static_cast<std::size_t>(r) * in;
        float sum = 0;
#pragma omp simd reduction(+ : sum)
        for (int i = 0; i < in; ++i) {
          const std::uint32_t bits = static_cast<std::uint32_t>(wr[i]) << 16;
          float wv;
          std::memcpy(&wv, &bits, sizeof wv);
          sum += wv * xr[i];
        }
        y[static_cast<std::size_t>(r) * out + o] = sum;
      }
    }
    return;
  }
  // Prompts: a block of weight rows (about 2M values) to float32, then sgemm into the matching
  // output columns. The conversion stays on this thread: an OpenMP region here would leave its
  // threads spinning while OpenBLAS's own threads want the cores.
  const int block_rows = std::max(64, std::min(out, (2 << 20) / std::max(1, in)));
  std::vector<float> block(static_cast<std::size_t>(block_rows) * in);
  for (int o0 = 0; o0 < out; o0 += block_rows) {
    const int n = std::min(block_rows, out - o0);
    for (int o = 0; o < n; ++o) w.row(o0 + o, block.data() + static_cast<std::size_t>(o) * in);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, n, in, 1.0f, x, in, block.data(), in, 0.0f, y + o0, out);
  }
}

void linear(const float* x, int rows, const Linear& l, float* y) {
  matmul_transposed(x, rows, l.weight, y);
  if (!l.bias.empty()) {
#pragma omp parallel for schedule(static) if (static_cast<std::int64_t>(rows) * l.out >= kParallelMin)
    for (int r = 0; r < rows; ++r) {
      float* yr = y + static_cast<std::size_t>(r) * l.out;
      for (int o = 0; o < l.out; ++o) yr[o] += l.bias[o];
    }
  }
}

void gated_mlp(const float* z, int rows, const BlockWeights& b, MlpActivation act, float* out) {
  const int inner = b.mlp_l1.out;
  std::vector<float> a(static_cast<std::size_t>(rows) * inner), g(a.size());
  linear(z, rows, b.mlp_l1, a.data());
  linear(z, rows, b.mlp_l2, g.data());
#pragma omp parallel for schedule(static) if (static_cast<std::int64_t>(a.size()) >= kParallelMin)
  for (std::int64_t i = 0; i < static_cast<std::int64_t>(a.size()); ++i) {
    const float v = a[i];
    const float activated = act == MlpActivation::silu ? v / (1.0f + std::exp(-v))
                                                       : 0.5f * v * (1.0f + std::erf(v * 0.70710678118654752f));
    a[i] = activated * g[i];
  }
  linear(a.data(), rows, b.mlp_l3, out);
}

void rotary(float* x, int rows, int heads, int head_dim, std::int64_t first_position, double base,
            double scaling_factor) {
  const int half = head_dim / 2;
  std::vector<float> inv_freq(half);
  for (int i = 0; i < half; ++i) {
    // As flash-attn's RotaryEmbedding: 1 / base^(2i/dim) in float32.
    inv_freq[i] = 1.0f / std::pow(static_cast<float>(base), static_cast<float>(2 * i) / static_cast<float>(head_dim));
  }
#pragma omp parallel for schedule(static) if (static_cast<std::int64_t>(rows) * heads * head_dim >= kParallelMin)
  for (int r = 0; r < rows; ++r) {
    const float t = static_cast<float>(static_cast<double>(first_position + r) / scaling_factor);
    float* row = x + static_cast<std::size_t>(r) * heads * head_dim;
    for (int i = 0; i < half; ++i) {
      const float angle = t * inv_freq[i];  // float32 product, as the reference forms it
      const float c = static_cast<float>(std::cos(static_cast<double>(angle)));
      const float s = static_cast<float>(std::sin(static_cast<double>(angle)));
      for (int h = 0; h < heads; ++h) {
        float* v = row + h * head_dim;
        const float x1 = v[i], x2 = v[i + half];
        v[i] = x1 * c - x2 * s;
        v[i + half] = x1 * s + x2 * c;
      }
    }
  }
}

void attention(const float* q, const float* k_cache, const float* v_cache, int rows, std::int64_t first_position,
               int heads, int kv_heads, int head_dim, float* out) {
  const int group = heads / kv_heads;
  const int q_width = heads * head_dim, kv_width = kv_heads * head_dim;
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  // Row blocks keep the wasted (masked) part of each score matrix small.
  constexpr int kBlock = 256;
  std::vector<float> scores;
  for (int r0 = 0; r0 < rows; r0 += kBlock) {
    const int n = std::min(kBlock, rows - r0);
    const std::int64_t keys = first_position + r0 + n;  // the block's last row sees this many keys
    scores.resize(static_cast<std::size_t>(n) * keys);
    for (int h = 0; h < heads; ++h) {
      const float* qh = q + static_cast<std::size_t>(r0) * q_width + h * head_dim;
      const float* kh = k_cache + (h / group) * head_dim;
      const float* vh = v_cache + (h / group) * head_dim;
      // scores[n, keys] = scale * q_h k_h^T
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, static_cast<int>(keys), head_dim, scale, qh, q_width,
                  kh, kv_width, 0.0f, scores.data(), static_cast<int>(keys));
      // Causal softmax per row: row r sees keys [0, first_position + r0 + r].
#pragma omp parallel for schedule(static) if (static_cast<std::int64_t>(n) * keys >= kParallelMin)
      for (int r = 0; r < n; ++r) {
        float* row = scores.data() + static_cast<std::size_t>(r) * keys;
        const std::int64_t visible = first_position + r0 + r + 1;
        float max_score = -INFINITY;
        for (std::int64_t j = 0; j < visible; ++j) max_score = std::max(max_score, row[j]);
        double denom = 0;
        for (std::int64_t j = 0; j < visible; ++j) denom += row[j] = std::exp(row[j] - max_score);
        const float inv = static_cast<float>(1.0 / denom);
        for (std::int64_t j = 0; j < visible; ++j) row[j] *= inv;
        std::fill(row + visible, row + keys, 0.0f);
      }
      // out_h[n, head_dim] = scores v_h
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, head_dim, static_cast<int>(keys), 1.0f, scores.data(),
                  static_cast<int>(keys), vh, kv_width, 0.0f, out + static_cast<std::size_t>(r0) * q_width + h * head_dim,
                  q_width);
    }
  }
}

void short_fir(const float* z, int rows, int channels, int taps, const float* weight, const float* bias,
               std::vector<float>& history, float* out) {
  const int past = taps - 1;
  // Input seen by the filter: the saved history, then this chunk.
  auto input = [&](std::int64_t t, int c) -> float {  // t in [-past, rows)
    return t < 0 ? history[static_cast<std::size_t>(t + past) * channels + c] : z[static_cast<std::size_t>(t) * channels + c];
  };
#pragma omp parallel for schedule(static) if (static_cast<std::int64_t>(rows) * channels * taps >= kParallelMin)
  for (int c = 0; c < channels; ++c) {
    const float* w = weight + static_cast<std::size_t>(c) * taps;
    for (int t = 0; t < rows; ++t) {
      float acc = 0;
      for (int k = 0; k < taps; ++k) acc += w[k] * input(t - past + k, c);  // w[taps-1] on the current input
      out[static_cast<std::size_t>(t) * channels + c] = acc + (bias ? bias[c] : 0.0f);
    }
  }
  // Keep the last `past` inputs (from the chunk, or older history when the chunk is short).
  std::vector<float> next(static_cast<std::size_t>(past) * channels);
  for (int k = 0; k < past; ++k) {
    const std::int64_t t = rows - past + k;
    for (int c = 0; c < channels; ++c) next[static_cast<std::size_t>(k) * channels + c] = input(t, c);
  }
  history.swap(next);
}

namespace {

struct FftPlans {
  int n;
  kiss_fftr_cfg forward, inverse;
  explicit FftPlans(int size)
      : n(size), forward(kiss_fftr_alloc(size, 0, nullptr, nullptr)), inverse(kiss_fftr_alloc(size, 1, nullptr, nullptr)) {
    if (!forward || !inverse) throw std::bad_alloc();
  }
  ~FftPlans() {
    kiss_fftr_free(forward);
    kiss_fftr_free(inverse);
  }
  FftPlans(const FftPlans&) = delete;
  FftPlans& operator=(const FftPlans&) = delete;
};

int fft_size_for(int rows) {
  int n = 2;
  while (n < 2 * rows) n *= 2;  // linear (not circular) convolution of two length-rows signals
  return n;
}

// Adds the saved state's contribution Re(sum_s R_s p_s^(j+1) s_s) to y[j] and advances the
// state over the chunk: s <- p^rows s + sum_k p^(rows-1-k) u[k]. Double precision inside.
void apply_and_advance_state(const float* u_col, int rows, int channel, int state_size, const BlockWeights& b,
                             std::vector<std::complex<float>>& iir, double* y) {
  for (int s = 0; s < state_size; ++s) {
    const std::size_t idx = static_cast<std::size_t>(channel) * state_size + s;
    const std::complex<double> p = b.poles[idx], r = b.residues[idx];
    std::complex<double> old = iir[idx];
    if (old != std::complex<double>(0, 0)) {
      std::complex<double> pw = p;
      for (int j = 0; j < rows; ++j, pw *= p) y[j] += (r * pw * old).real();
    }
    std::complex<double> st = old;
    for (int k = 0; k < rows; ++k) st = p * st + static_cast<double>(u_col[k]);
    iir[idx] = std::complex<float>(st);
  }
}

}  // namespace

void long_conv_fft(const float* u, int rows, int channels, int state_size, const BlockWeights& b,
                   std::vector<std::complex<float>>& iir, float* y) {
  const int n = fft_size_for(rows);
#pragma omp parallel
  {
    FftPlans plans(n);  // kissfft configs hold scratch buffers: one per thread
    std::vector<float> hu(n), uu(n), conv(n);
    std::vector<kiss_fft_cpx> hf(n / 2 + 1), uf(n / 2 + 1);
    std::vector<double> acc(rows);
    std::vector<float> u_col(rows);
#pragma omp for schedule(dynamic, 8)
    for (int c = 0; c < channels; ++c) {
      // Filter taps h[t] = Re(sum_s R p^t), in double by repeated multiplication.
      std::fill(hu.begin(), hu.end(), 0.0f);
      for (int s = 0; s < state_size; ++s) {
        const std::size_t idx = static_cast<std::size_t>(c) * state_size + s;
        const std::complex<double> p = b.poles[idx], r = b.residues[idx];
        std::complex<double> pw = 1.0;
        for (int t = 0; t < rows; ++t, pw *= p) hu[t] += static_cast<float>((r * pw).real());
      }
      std::fill(uu.begin(), uu.end(), 0.0f);
      for (int t = 0; t < rows; ++t) u_col[t] = uu[t] = u[static_cast<std::size_t>(t) * channels + c];
      kiss_fftr(plans.forward, hu.data(), hf.data());
      kiss_fftr(plans.forward, uu.data(), uf.data());
      for (int k = 0; k <= n / 2; ++k) {
        const float re = hf[k].r * uf[k].r - hf[k].i * uf[k].i, im = hf[k].r * uf[k].i + hf[k].i * uf[k].r;
        hf[k].r = re;
        hf[k].i = im;
      }
      kiss_fftri(plans.inverse, hf.data(), conv.data());  // unnormalised: n * (h * u)
      for (int t = 0; t < rows; ++t) acc[t] = static_cast<double>(conv[t]) / n;
      apply_and_advance_state(u_col.data(), rows, c, state_size, b, iir, acc.data());
      for (int t = 0; t < rows; ++t) {
        y[static_cast<std::size_t>(t) * channels + c] = static_cast<float>(acc[t] + b.skip[c] * u_col[t]);
      }
    }
  }
}

void long_conv_recurrence(const float* u, int rows, int channels, int state_size, const BlockWeights& b,
                          std::vector<std::complex<float>>& iir, float* y) {
#pragma omp parallel for schedule(static) if (static_cast<std::int64_t>(rows) * channels * state_size >= kParallelMin)
  for (int c = 0; c < channels; ++c) {
    std::complex<float>* st = iir.data() + static_cast<std::size_t>(c) * state_size;
    const std::complex<float>* p = b.poles.data() + static_cast<std::size_t>(c) * state_size;
    const std::complex<float>* r = b.residues.data() + static_cast<std::size_t>(c) * state_size;
    for (int t = 0; t < rows; ++t) {
      const float ut = u[static_cast<std::size_t>(t) * channels + c];
      float out = 0;
      for (int s = 0; s < state_size; ++s) {
        st[s] = p[s] * st[s] + ut;  // s[t] = p s[t-1] + u[t]  (complex; both parts from the old state)
        out += r[s].real() * st[s].real() - r[s].imag() * st[s].imag();  // Re(R s)
      }
      y[static_cast<std::size_t>(t) * channels + c] = out + b.skip[c] * ut;
    }
  }
}

}  // namespace hd::cpu
