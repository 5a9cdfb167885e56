#pragma once
// The Hyena block's short causal FIR, fused with the column split and the x1 * v gate:
//   z'[t, ch] = sum_k w[ch, k] * z[t - (taps-1) + k, ch] + b[ch]   (history supplies t < 0)
//   then per channel c < D: x2 = z'[., i_x2(c)], u = z'[., i_x1(c)] * z'[., i_v(c)]
// With column_split the 3D channels are `heads` groups of [x2 | x1 | v], head_dim each;
// otherwise three contiguous thirds.
#include <cuda_bf16.h>
#include <cuda_runtime_api.h>

namespace hd {

template <typename T>
struct FirSplitParams {
  const T* z = nullptr;            // [rows, 3D] input projections (bias included)
  const float* history = nullptr;  // [taps-1, 3D] the inputs before this chunk, oldest first
  const T* weight = nullptr;       // [3D, taps]; the last tap multiplies the current input
  const T* bias = nullptr;         // [3D] or null
  T* x2 = nullptr;                 // [rows, D]
  float* u = nullptr;              // [rows, D]
  int rows = 0, dim = 0, taps = 0, heads = 0, head_dim = 0;
  bool column_split = true;
};

template <typename T>
void short_fir_split(const FirSplitParams<T>& p, cudaStream_t stream);

// After short_fir_split: the last taps-1 inputs (from z, or from the old history when the
// chunk is shorter) become the history. `scratch` holds (taps-1) * 3D floats.
template <typename T>
void short_fir_advance_history(const T* z, float* history, float* scratch, int rows, int channels, int taps,
                               cudaStream_t stream);

// One row (decode): short_fir_split and short_fir_advance_history in one launch; `history` is
// p.history, updated in place.
template <typename T>
void short_fir_step(const FirSplitParams<T>& p, float* history, cudaStream_t stream);

}  // namespace hd
