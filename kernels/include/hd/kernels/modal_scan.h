#pragma once
// The Hyena long convolution as its modal recurrence, computed as a chunked parallel scan:
//   s[c, k](t) = p[c, k] * s[c, k](t-1) + u[t, c]          (complex, float32)
//   y[t, c]    = x2[t, c] * (Re(sum_k R[c, k] s[c, k](t)) + skip[c] * u[t, c])
// Time is cut into blocks of kScanBlock steps: (1) each block's local state from zero,
// (2) a sequential pass over blocks per (channel, state) turns those into each block's
// starting state and the final state, (3) each block replays its steps from its start.
// Bytes moved: u and x2 read about twice, y written once.
#include <cuda_bf16.h>
#include <cuda_runtime_api.h>

#include <cstddef>

namespace hd {

constexpr int kScanBlock = 64;
constexpr int kMaxStateSize = 8;

template <typename T>
struct ModalScanParams {
  const float* u = nullptr;         // [rows, D]
  const T* x2 = nullptr;            // [rows, D]
  const float2* poles = nullptr;    // [D, S]
  const float2* residues = nullptr; // [D, S]
  const T* skip = nullptr;          // [D]
  float2* state = nullptr;          // [D, S]: the state before the chunk, replaced by the state after it
  float2* scratch = nullptr;        // modal_scan_scratch_elements(rows, D, S) entries
  T* y = nullptr;                   // [rows, D]
  int rows = 0, dim = 0, state_size = 0;
};

std::size_t modal_scan_scratch_elements(int rows, int dim, int state_size);

template <typename T>
void modal_scan(const ModalScanParams<T>& p, cudaStream_t stream);

}  // namespace hd
