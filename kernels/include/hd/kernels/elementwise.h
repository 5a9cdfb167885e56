#pragma once
// Small fused elementwise kernels of the model's data path. T is float or __nv_bfloat16;
// the residual stream stays float32. All take an explicit stream and check their launch.
#include <cuda_bf16.h>
#include <cuda_runtime_api.h>

namespace hd {

enum class GateActivation { silu, gelu };

// out[r, :] = float(table[tokens[r], :])        tokens: device ids [rows]; out: [rows, dim]
template <typename T>
void embedding_gather(const int* tokens, const T* table, float* out, int rows, int dim, cudaStream_t stream);

// x[r, c] += float(delta[r, c]) + float(bias[c])  (bias may be null)    x: [rows, dim] float
template <typename T>
void residual_add(float* x, const T* delta, const T* bias, int rows, int dim, cudaStream_t stream);

// y[r, c] += bias[c]                                                     y: [rows, dim]
template <typename T>
void bias_add(T* y, const T* bias, int rows, int dim, cudaStream_t stream);

// out[r, i] = act(ab[r, i]) * ab[r, inner + i]   ab: [rows, 2*inner] (l1 then l2 outputs), out: [rows, inner]
template <typename T>
void gated_activation(const T* ab, T* out, int rows, int inner, GateActivation act, cudaStream_t stream);

// out[i] = To(in[i])
template <typename From, typename To>
void convert(const From* in, To* out, long long count, cudaStream_t stream);

}  // namespace hd
