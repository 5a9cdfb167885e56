#pragma once
// The CPU reference's operations. Activations are row-major [positions, channels] float32;
// sums run in float32 or wider. Each function states the shapes it expects.
#include <complex>
#include <cstdint>
#include <vector>

#include "cpu_weights.h"

namespace hd::cpu {

// out[r, :] = x[r, :] * rsqrt(mean(x[r, :]^2) + eps) * scale   (x, out: [rows, dim]; may alias)
void rms_norm(const float* x, const float* scale, float* out, int rows, int dim, float eps);

// y[rows, w.rows] = x[rows, w.cols] * w^T: BLAS sgemm on float32 weights; bf16 weights are
// converted a block of rows at a time (prompts) or read directly in a dot product (decode).
void matmul_transposed(const float* x, int rows, const Matrix& w, float* y);
// y[rows, l.out] = x[rows, l.in] * l.weight^T + l.bias
void linear(const float* x, int rows, const Linear& l, float* y);

// Gated MLP: l3(act(l1 z) * l2 z); z, out: [rows, D].
void gated_mlp(const float* z, int rows, const BlockWeights& b, MlpActivation act, float* out);

// Rotary embedding on `heads` heads of width head_dim in each row of x ([rows, heads*head_dim]),
// at positions first_position + r, halves rotated (non-interleaved). Angles are formed in
// float32 as the reference does (position * inv_freq), then cos/sin.
void rotary(float* x, int rows, int heads, int head_dim, std::int64_t first_position, double base,
            double scaling_factor);

// Causal grouped-query attention of `rows` new queries at positions first_position + r over
// keys/values [0, first_position + rows) in k_cache/v_cache ([positions, kv_heads*head_dim]).
// q, out: [rows, heads*head_dim].
void attention(const float* q, const float* k_cache, const float* v_cache, int rows, std::int64_t first_position,
               int heads, int kv_heads, int head_dim, float* out);

// Short causal depthwise FIR with bias over z ([rows, channels]), continuing from `history`
// ([taps-1, channels], oldest first, updated to the last inputs); weight: [channels, taps].
void short_fir(const float* z, int rows, int channels, int taps, const float* weight, const float* bias,
               std::vector<float>& history, float* out);

// The Hyena long convolution of u ([rows, D]) by h[c, t] = Re(sum_s R[c,s] p[c,s]^t),
// continuing from the IIR state ([D, S], updated): y = h * u + Re(sum_s R p^(j+1) s_old) + skip * u.
// By FFT (kissfft) or by stepping the modal recurrence.
void long_conv_fft(const float* u, int rows, int channels, int state_size, const BlockWeights& b,
                   std::vector<std::complex<float>>& iir, float* y);
void long_conv_recurrence(const float* u, int rows, int channels, int state_size, const BlockWeights& b,
                          std::vector<std::complex<float>>& iir, float* y);

}  // namespace hd::cpu
