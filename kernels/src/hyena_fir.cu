#include <stdexcept>

#include "hd/kernels/cuda_check.h"
#include "hd/kernels/hyena_fir.h"
#include "numeric.cuh"
#include "overlapped_launch.cuh"

namespace hd {
namespace {

template <typename T>
__device__ float fir_at(const FirSplitParams<T>& p, int t, int ch) {
  const int channels = 3 * p.dim, past = p.taps - 1;
  float acc = p.bias ? to_f32(p.bias[ch]) : 0.f;
  for (int k = 0; k < p.taps; ++k) {
    const int s = t - past + k;
    const float in = s < 0 ? p.history[static_cast<long long>(s + past) * channels + ch]
                           : to_f32(p.z[static_cast<long long>(s) * channels + ch]);
    acc += to_f32(p.weight[static_cast<long long>(ch) * p.taps + k]) * in;
  }
  return acc;
}

// The three input channels (x2, x1, v) of output column c.
template <typename T>
__device__ void split_channels(const FirSplitParams<T>& p, int c, int& i_x2, int& i_x1, int& i_v) {
  if (p.column_split) {
    const int h = c / p.head_dim, j = c % p.head_dim;
    i_x2 = h * 3 * p.head_dim + j;
    i_x1 = i_x2 + p.head_dim;
    i_v = i_x2 + 2 * p.head_dim;
  } else {
    i_x2 = c;
    i_x1 = p.dim + c;
    i_v = 2 * p.dim + c;
  }
}

template <typename T>
__global__ void fir_split_kernel(FirSplitParams<T> p) {
  const long long idx = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  if (idx >= static_cast<long long>(p.rows) * p.dim) return;
  const int t = static_cast<int>(idx / p.dim), c = static_cast<int>(idx % p.dim);
  int i_x2, i_x1, i_v;
  split_channels(p, c, i_x2, i_x1, i_v);
  p.x2[idx] = from_f32<T>(fir_at(p, t, i_x2));
  p.u[idx] = fir_at(p, t, i_x1) * fir_at(p, t, i_v);
}

// One row (decode): the outputs and the history's shift in one launch instead of a split, an
// advance and a copy. Thread c alone reads and writes its three channels, so it can shift their
// history in place once it has used it (history aliases p.history).
template <typename T>
__global__ void fir_step_kernel(FirSplitParams<T> p, float* history) {
  wait_for_previous_kernel();
  allow_next_kernel_to_start();
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= p.dim) return;
  int i_x2, i_x1, i_v;
  split_channels(p, c, i_x2, i_x1, i_v);
  p.x2[c] = from_f32<T>(fir_at(p, 0, i_x2));
  p.u[c] = fir_at(p, 0, i_x1) * fir_at(p, 0, i_v);
  const int channels = 3 * p.dim, past = p.taps - 1;
  for (const int ch : {i_x2, i_x1, i_v}) {
    for (int k = 0; k + 1 < past; ++k) history[k * channels + ch] = history[(k + 1) * channels + ch];
    if (past > 0) history[(past - 1) * channels + ch] = to_f32(p.z[ch]);
  }
}

template <typename T>
__global__ void advance_kernel(const T* z, const float* history, float* next, int rows, int channels, int past) {
  const long long idx = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  if (idx >= static_cast<long long>(past) * channels) return;
  const int k = static_cast<int>(idx / channels), ch = static_cast<int>(idx % channels);
  const int t = rows - past + k;  // position of the k-th kept input, relative to the chunk
  next[idx] = t < 0 ? history[static_cast<long long>(t + past) * channels + ch] : to_f32(z[static_cast<long long>(t) * channels + ch]);
}

}  // namespace

template <typename T>
void short_fir_split(const FirSplitParams<T>& p, cudaStream_t stream) {
  const long long n = static_cast<long long>(p.rows) * p.dim;
  if (n == 0) return;
  fir_split_kernel<T><<<static_cast<unsigned>((n + 255) / 256), 256, 0, stream>>>(p);
  HD_CHECK_LAUNCH();
}

template <typename T>
void short_fir_advance_history(const T* z, float* history, float* scratch, int rows, int channels, int taps,
                               cudaStream_t stream) {
  const int past = taps - 1;
  const long long n = static_cast<long long>(past) * channels;
  if (n == 0 || rows == 0) return;
  advance_kernel<T><<<static_cast<unsigned>((n + 255) / 256), 256, 0, stream>>>(z, history, scratch, rows, channels, past);
  HD_CHECK_LAUNCH();
  HD_CUDA_CHECK(cudaMemcpyAsync(history, scratch, n * sizeof(float), cudaMemcpyDeviceToDevice, stream));
}

template <typename T>
void short_fir_step(const FirSplitParams<T>& p, float* history, cudaStream_t stream) {
  if (p.rows != 1) throw std::invalid_argument("short_fir_step: one row at a time");
  launch_overlapping_previous(fir_step_kernel<T>, (p.dim + 127) / 128, 128, stream, p, history);
}

template void short_fir_step<float>(const FirSplitParams<float>&, float*, cudaStream_t);
template void short_fir_step<__nv_bfloat16>(const FirSplitParams<__nv_bfloat16>&, float*, cudaStream_t);
template void short_fir_split<float>(const FirSplitParams<float>&, cudaStream_t);
template void short_fir_split<__nv_bfloat16>(const FirSplitParams<__nv_bfloat16>&, cudaStream_t);
template void short_fir_advance_history<float>(const float*, float*, float*, int, int, int, cudaStream_t);
template void short_fir_advance_history<__nv_bfloat16>(const __nv_bfloat16*, float*, float*, int, int, int,
                                                       cudaStream_t);

}  // namespace hd
