#include "hd/kernels/cuda_check.h"
#include "hd/kernels/elementwise.h"
#include "gate_activation.cuh"
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
  out[i] = from_f32<T>(gate_activation(a, act) * b);
}

template <typename From, typename To>
__global__ void convert_kernel(const From* in, To* out, long long n) {
  long long i = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  if (i < n) out[i] = from_f32<To>(to_f32(in[i]));
}

// The same kernels eight values a thread (16-byte loads and stores): the scalar forms above ran
// at 6-19% of the H200's memory bandwidth in the 7B prefill profile, held back by one 2- or 4-byte
// access a thread. Used when the row width is a multiple of 8 and every base is 16-byte aligned.
template <typename T>
__global__ void embedding_kernel8(const int* tokens, const T* table, float* out, int rows, int dim) {
  const long long chunk = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x, per_row = dim / 8;
  if (chunk >= rows * per_row) return;
  const int r = static_cast<int>(chunk / per_row), c = static_cast<int>(chunk % per_row) * 8;
  float v[8];
  load8(table + static_cast<long long>(tokens[r]) * dim + c, v);
  store8(out + static_cast<long long>(r) * dim + c, v);
}

template <typename T>
__global__ void residual_add_kernel8(float* x, const T* delta, const T* bias, int rows, int dim) {
  const long long chunk = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  if (chunk >= static_cast<long long>(rows) * dim / 8) return;
  float xv[8], dv[8], bv[8] = {};
  load8(x + chunk * 8, xv);
  load8(delta + chunk * 8, dv);
  if (bias) load8(bias + (chunk * 8) % dim, bv);
#pragma unroll
  for (int j = 0; j < 8; ++j) xv[j] += dv[j] + bv[j];
  store8(x + chunk * 8, xv);
}

template <typename T>
__global__ void bias_add_kernel8(T* y, const T* bias, int rows, int dim) {
  const long long chunk = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  if (chunk >= static_cast<long long>(rows) * dim / 8) return;
  float yv[8], bv[8];
  load8(y + chunk * 8, yv);
  load8(bias + (chunk * 8) % dim, bv);
#pragma unroll
  for (int j = 0; j < 8; ++j) yv[j] += bv[j];
  store8(y + chunk * 8, yv);
}

template <typename T>
__global__ void gated_kernel8(const T* ab, T* out, int rows, int inner, GateActivation act) {
  const long long chunk = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x, per_row = inner / 8;
  if (chunk >= rows * per_row) return;
  const long long r = chunk / per_row, c = (chunk % per_row) * 8;
  float a[8], b[8], g[8];
  load8(ab + r * 2 * inner + c, a);
  load8(ab + r * 2 * inner + inner + c, b);
#pragma unroll
  for (int j = 0; j < 8; ++j) {
    g[j] = gate_activation(a[j], act) * b[j];
  }
  store8(out + r * inner + c, g);
}

template <typename From, typename To>
__global__ void convert_kernel8(const From* in, To* out, long long chunks) {
  const long long chunk = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  if (chunk >= chunks) return;
  float v[8];
  load8(in + chunk * 8, v);
  store8(out + chunk * 8, v);
}

}  // namespace

template <typename T>
void embedding_gather(const int* tokens, const T* table, float* out, int rows, int dim, cudaStream_t stream) {
  long long n = static_cast<long long>(rows) * dim;
  if (n == 0) return;
  if (dim % 8 == 0 && aligned16(table) && aligned16(out)) {
    embedding_kernel8<T><<<blocks_for(n / 8), kThreads, 0, stream>>>(tokens, table, out, rows, dim);
  } else {
    embedding_kernel<T><<<blocks_for(n), kThreads, 0, stream>>>(tokens, table, out, rows, dim);
  }
  HD_CHECK_LAUNCH();
}

template <typename T>
void residual_add(float* x, const T* delta, const T* bias, int rows, int dim, cudaStream_t stream) {
  long long n = static_cast<long long>(rows) * dim;
  if (n == 0) return;
  if (dim % 8 == 0 && aligned16(x) && aligned16(delta) && aligned16(bias)) {
    residual_add_kernel8<T><<<blocks_for(n / 8), kThreads, 0, stream>>>(x, delta, bias, rows, dim);
  } else {
    residual_add_kernel<T><<<blocks_for(n), kThreads, 0, stream>>>(x, delta, bias, rows, dim);
  }
  HD_CHECK_LAUNCH();
}

template <typename T>
void bias_add(T* y, const T* bias, int rows, int dim, cudaStream_t stream) {
  long long n = static_cast<long long>(rows) * dim;
  if (n == 0) return;
  if (dim % 8 == 0 && aligned16(y) && aligned16(bias)) {
    bias_add_kernel8<T><<<blocks_for(n / 8), kThreads, 0, stream>>>(y, bias, rows, dim);
  } else {
    bias_add_kernel<T><<<blocks_for(n), kThreads, 0, stream>>>(y, bias, rows, dim);
  }
  HD_CHECK_LAUNCH();
}

template <typename T>
void gated_activation(const T* ab, T* out, int rows, int inner, GateActivation act, cudaStream_t stream) {
  long long n = static_cast<long long>(rows) * inner;
  if (n == 0) return;
  if (inner % 8 == 0 && aligned16(ab) && aligned16(out)) {
    gated_kernel8<T><<<blocks_for(n / 8), kThreads, 0, stream>>>(ab, out, rows, inner, act);
  } else {
    gated_kernel<T><<<blocks_for(n), kThreads, 0, stream>>>(ab, out, rows, inner, act);
  }
  HD_CHECK_LAUNCH();
}

template <typename From, typename To>
void convert(const From* in, To* out, long long count, cudaStream_t stream) {
  if (count == 0) return;
  long long done = 0;
  if (aligned16(in) && aligned16(out) && count >= 8) {
    const long long chunks = count / 8;
    convert_kernel8<From, To><<<blocks_for(chunks), kThreads, 0, stream>>>(in, out, chunks);
    HD_CHECK_LAUNCH();
    done = chunks * 8;
  }
  if (done == count) return;
  convert_kernel<From, To><<<blocks_for(count - done), kThreads, 0, stream>>>(in + done, out + done, count - done);
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
