#pragma once
// The small kernels of a BERT encoder (the sentence embedder), float32 throughout. A batch is
// several sequences packed without padding: sequence s owns rows seq_start[s] .. seq_start[s+1].
// The linear layers themselves are cuBLAS (gemm.h).
#include <cuda_runtime_api.h>

namespace hd {

// out[r, :] = LayerNorm(word[ids[r], :] + pos[positions[r], :] + type0[:])
void bert_embed(const int* ids, const int* positions, const float* word, const float* pos, const float* type0,
                const float* gamma, const float* beta, float* out, int rows, int dim, float eps, cudaStream_t stream);

// x[r, :] = LayerNorm(x[r, :] + y[r, :] + bias[:])   (the residual, its bias, the norm after it)
void bert_residual_layernorm(float* x, const float* y, const float* bias, const float* gamma, const float* beta,
                             int rows, int dim, float eps, cudaStream_t stream);

// y = gelu(y + bias), the exact (erf) GELU, in place; y: [rows, dim]
void bert_bias_gelu(float* y, const float* bias, int rows, int dim, cudaStream_t stream);

// Self-attention within each sequence, per head (head_dim 32, at most 512 rows a sequence):
// ctx = softmax((q + bq)(k + bk)^T / sqrt(head_dim)) (v + bv). q, k, v, ctx: [rows, heads * 32].
void bert_attention(const float* q, const float* k, const float* v, const float* bq, const float* bk, const float* bv,
                    const int* seq_start, int sequences, int max_len, int heads, float* ctx, cudaStream_t stream);

// out[s, :] = normalize(mean of sequence s's rows of x)
void bert_mean_pool_normalize(const float* x, const int* seq_start, int sequences, int dim, float* out,
                              cudaStream_t stream);

}  // namespace hd
