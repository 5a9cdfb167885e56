#include "hd/kernels/cuda_check.h"
#include "hd/kernels/elementwise.h"
#include "numeric.cuh"

namespace hd {
namespace {

constexpr int kThreads = 256;
inline unsigned blocks_for(long long n) { return static_cast<unsigned>((n + kThreads - 1) / kThreads); }

template <typename T>
__global__ void embedding_kernel(const int* tokens, const T* table, float* out, int rows, int dim) {
  long long i = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  if (i >= static_cast<long long>(rows) * dim) return;
  int r = static_cast<int>(i / dim), c = static_cast<int>(i % dim);
  out[i] = to_f32(table[static_cast<long long>(tokens[r]) * dim + c]);
}

template <typename T>
__global__ void residual_add_kernel(float* x, const T* delta, const T* bias, int rows, int dim) {
  long long i = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  if (i >= static_cast<long long>(rows) * dim) return;
  float v = to_f32(delta[i]);
  if (bias) v += to_f32(bias[i % dim]);
  x[i] += v;
}

template <typename T>
__global__ void bias_add_kernel(T* y, const T* bias, int rows, int dim) {
  long long i = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  if (i >= static_cast<long long>(rows) * dim) return;
  y[i] = from_f32<T>(to_f32(y[i]) + to_f32(bias[i % dim]));
}

template <typename T>
__global__ void gated_kernel(const T* ab, T* out, int rows, int inner, GateActivation act) {
  long long i = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  if (i >= static_cast<long long>(rows) * inner) return;
  long long r = i / inner, c = i % inner;
  float a = to_f32(ab[r * 2 * inner + c]), b = to_f32(ab[r * 2 * inner + inner + c]);
  float g = act == GateActivation::silu ? a / (1.0f + expf(-a)) : 0.5f * a * (1.0f + erff(a * 0.70710678118654752f));
  out[i] = from_f32<T>(g * b);
}

template <typename From, typename To>
__global__ void convert_kernel(const From* in, To* out, long long n) {
  long long i = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  if (i < n) out[i] = from_f32<To>(to_f32(in[i]));
}

}  // namespace

template <typename T>
void embedding_gather(const int* tokens, const T* table, float* out, int rows, int dim, cudaStream_t stream) {
  long long n = static_cast<long long>(rows) * dim;
  if (n == 0) return;
  embedding_kernel<T><<<blocks_for(n), kThreads, 0, stream>>>(tokens, table, out, rows, dim);
  HD_CHECK_LAUNCH();
}

template <typename T>
void residual_add(float* x, const T* delta, const T* bias, int rows, int dim, cudaStream_t stream) {
  long long n = static_cast<long long>(rows) * dim;
  if (n == 0) return;
  residual_add_kernel<T><<<blocks_for(n), kThreads, 0, stream>>>(x, delta, bias, rows, dim);
  HD_CHECK_LAUNCH();
}

template <typename T>
void bias_add(T* y, const T* bias, int rows, int dim, cudaStream_t stream) {
  long long n = static_cast<long long>(rows) * dim;
  if (n == 0) return;
  bias_add_kernel<T><<<blocks_for(n), kThreads, 0, stream>>>(y, bias, rows, dim);
  HD_CHECK_LAUNCH();
}

template <typename T>
void gated_activation(const T* ab, T* out, int rows, int inner, GateActivation act, cudaStream_t stream) {
  long long n = static_cast<long long>(rows) * inner;
  if (n == 0) return;
  gated_kernel<T><<<blocks_for(n), kThreads, 0, stream>>>(ab, out, rows, inner, act);
  HD_CHECK_LAUNCH();
}

template <typename From, typename To>
void convert(const From* in, To* out, long long count, cudaStream_t stream) {
  if (count == 0) return;
  convert_kernel<From, To><<<blocks_for(count), kThreads, 0, stream>>>(in, out, count);
  HD_CHECK_LAUNCH();
}

#define HD_INSTANTIATE(T)                                                                     \
  template void embedding_gather<T>(const int*, const T*, float*, int, int, cudaStream_t);    \
  template void residual_add<T>(float*, const T*, const T*, int, int, cudaStream_t);          \
  template void bias_add<T>(T*, const T*, int, int, cudaStream_t);                            \
  template void gated_activation<T>(const T*, T*, int, int, GateActivation, cudaStream_t);
HD_INSTANTIATE(float)
HD_INSTANTIATE(__nv_bfloat16)
#undef HD_INSTANTIATE
template void convert<float, __nv_bfloat16>(const float*, __nv_bfloat16*, long long, cudaStream_t);
template void convert<__nv_bfloat16, float>(const __nv_bfloat16*, float*, long long, cudaStream_t);
template void convert<float, float>(const float*, float*, long long, cudaStream_t);

}  // namespace hd
