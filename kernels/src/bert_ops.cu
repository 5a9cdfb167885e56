#include "hd/kernels/bert_ops.h"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "hd/kernels/cuda_check.h"

namespace hd {
namespace {

constexpr int kRowThreads = 128;  // one block a row; MiniLM rows are 384 wide

// Mean and inverse standard deviation of the block's row held as `v` (per-thread partials).
__device__ void block_mean_inv_std(float sum, float sum_sq, int dim, float eps, float& mean, float& inv_std) {
  __shared__ float s1[kRowThreads / 32], s2[kRowThreads / 32];
  for (int o = 16; o > 0; o /= 2) {
    sum += __shfl_xor_sync(0xffffffffu, sum, o);
    sum_sq += __shfl_xor_sync(0xffffffffu, sum_sq, o);
  }
  if (threadIdx.x % 32 == 0) {
    s1[threadIdx.x / 32] = sum;
    s2[threadIdx.x / 32] = sum_sq;
  }
  __syncthreads();
  float a = 0.f, b = 0.f;
  for (int w = 0; w < kRowThreads / 32; ++w) {
    a += s1[w];
    b += s2[w];
  }
  mean = a / dim;
  const float var = fmaxf(b / dim - mean * mean, 0.f);
  inv_std = rsqrtf(var + eps);
}

constexpr int kMaxPerThread = 8;  // dim <= 1024

// out[i] = LayerNorm(value(i)) for the block's row: each thread holds its elements in registers.
template <typename Value>
__device__ __forceinline__ void layer_norm_row(Value value, const float* gamma, const float* beta, float* out, int dim,
                                               float eps) {
  float v[kMaxPerThread];
  float sum = 0.f, sum_sq = 0.f;
  for (int k = 0, i = threadIdx.x; i < dim; ++k, i += blockDim.x) {
    v[k] = value(i);
    sum += v[k];
    sum_sq += v[k] * v[k];
  }
  float mean, inv;
  block_mean_inv_std(sum, sum_sq, dim, eps, mean, inv);
  for (int k = 0, i = threadIdx.x; i < dim; ++k, i += blockDim.x) out[i] = (v[k] - mean) * inv * gamma[i] + beta[i];
}

__global__ void embed_kernel(const int* ids, const int* positions, const float* word, const float* pos,
                             const float* type0, const float* gamma, const float* beta, float* out, int dim, float eps) {
  const int r = blockIdx.x;
  const float* w = word + static_cast<long long>(ids[r]) * dim;
  const float* p = pos + static_cast<long long>(positions[r]) * dim;
  layer_norm_row([&](int i) { return w[i] + p[i] + type0[i]; }, gamma, beta, out + static_cast<long long>(r) * dim, dim,
                 eps);
}

__global__ void residual_layernorm_kernel(float* x, const float* y, const float* bias, const float* gamma,
                                          const float* beta, int dim, float eps) {
  float* xr = x + static_cast<long long>(blockIdx.x) * dim;
  const float* yr = y + static_cast<long long>(blockIdx.x) * dim;
  // Each thread reads its own elements of xr before writing them back.
  layer_norm_row([&](int i) { return xr[i] + yr[i] + bias[i]; }, gamma, beta, xr, dim, eps);
}

__global__ void bias_gelu_kernel(float* y, const float* bias, long long n, int dim) {
  for (long long i = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<long long>(gridDim.x) * blockDim.x) {
    const float v = y[i] + bias[i % dim];
    y[i] = 0.5f * v * (1.f + erff(v * 0.70710678118654752f));
  }
}

constexpr int kHeadDim = 32, kAttnWarps = 4, kMaxKeysPerLane = 16;  // sequences up to 512 rows

// Block (sequence, head). K and V of the head in shared memory (K rows padded to 33 floats so
// lanes reading different keys of one dim hit different banks). Each warp takes query rows:
// lane j scores keys j, j+32, ...; then each lane accumulates output dim `lane`.
__global__ void attention_kernel(const float* q, const float* k, const float* v, const float* bq, const float* bk,
                                 const float* bv, const int* seq_start, int heads, float* ctx) {
  extern __shared__ float smem[];
  const int s = blockIdx.x, h = blockIdx.y, warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int first = seq_start[s], n = seq_start[s + 1] - first, width = heads * kHeadDim;
  float* ks = smem;                     // [n][33]
  float* vs = smem + n * (kHeadDim + 1);  // [n][32]
  float* qs = vs + n * kHeadDim;          // [warps][32]
  for (int i = threadIdx.x; i < n * kHeadDim; i += blockDim.x) {
    const int r = i / kHeadDim, d = i % kHeadDim;
    const long long at = static_cast<long long>(first + r) * width + h * kHeadDim + d;
    ks[r * (kHeadDim + 1) + d] = k[at] + bk[h * kHeadDim + d];
    vs[r * kHeadDim + d] = v[at] + bv[h * kHeadDim + d];
  }
  __syncthreads();
  const float scale = rsqrtf(static_cast<float>(kHeadDim));
  for (int i = warp; i < n; i += kAttnWarps) {
    const long long row = static_cast<long long>(first + i) * width + h * kHeadDim;
    qs[warp * kHeadDim + lane] = (q[row + lane] + bq[h * kHeadDim + lane]) * scale;
    __syncwarp();
    float score[kMaxKeysPerLane];
    float mx = -INFINITY;
    for (int t = 0; t < kMaxKeysPerLane; ++t) {
      const int j = lane + 32 * t;
      score[t] = -INFINITY;
      if (j < n) {
        float dot = 0.f;
        for (int d = 0; d < kHeadDim; ++d) dot += qs[warp * kHeadDim + d] * ks[j * (kHeadDim + 1) + d];
        score[t] = dot;
        mx = fmaxf(mx, dot);
      }
    }
    for (int o = 16; o > 0; o /= 2) mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, o));
    float sum = 0.f;
    for (int t = 0; t < kMaxKeysPerLane; ++t) {
      score[t] = lane + 32 * t < n ? __expf(score[t] - mx) : 0.f;
      sum += score[t];
    }
    for (int o = 16; o > 0; o /= 2) sum += __shfl_xor_sync(0xffffffffu, sum, o);
    float acc = 0.f;
    for (int t = 0; t < kMaxKeysPerLane && 32 * t < n; ++t) {
      for (int src = 0; src < 32 && 32 * t + src < n; ++src) {
        acc += __shfl_sync(0xffffffffu, score[t], src) * vs[(32 * t + src) * kHeadDim + lane];
      }
    }
    ctx[row + lane] = acc / sum;
    __syncwarp();
  }
}

__global__ void mean_pool_kernel(const float* x, const int* seq_start, int dim, float* out) {
  const int s = blockIdx.x, first = seq_start[s], n = seq_start[s + 1] - first;
  float v[kMaxPerThread];
  float sum_sq = 0.f;
  for (int k = 0, i = threadIdx.x; i < dim; ++k, i += blockDim.x) {
    float a = 0.f;
    for (int r = 0; r < n; ++r) a += x[static_cast<long long>(first + r) * dim + i];
    v[k] = a / n;
    sum_sq += v[k] * v[k];
  }
  __shared__ float norm;
  float total = sum_sq;
  for (int o = 16; o > 0; o /= 2) total += __shfl_xor_sync(0xffffffffu, total, o);
  __shared__ float parts[kRowThreads / 32];
  if (threadIdx.x % 32 == 0) parts[threadIdx.x / 32] = total;
  __syncthreads();
  if (threadIdx.x == 0) {
    float t = 0.f;
    for (int w = 0; w < kRowThreads / 32; ++w) t += parts[w];
    norm = fmaxf(sqrtf(t), 1e-12f);
  }
  __syncthreads();
  for (int k = 0, i = threadIdx.x; i < dim; ++k, i += blockDim.x) out[static_cast<long long>(s) * dim + i] = v[k] / norm;
}

void check_dim(int dim, const char* who) {
  if (dim <= 0 || dim > kRowThreads * kMaxPerThread) {
    throw std::invalid_argument(std::string(who) + ": dim " + std::to_string(dim) + " is out of range (1 to " +
                                std::to_string(kRowThreads * kMaxPerThread) + ")");
  }
}

}  // namespace

void bert_embed(const int* ids, const int* positions, const float* word, const float* pos, const float* type0,
                const float* gamma, const float* beta, float* out, int rows, int dim, float eps, cudaStream_t stream) {
  check_dim(dim, "bert_embed");
  if (rows == 0) return;
  embed_kernel<<<rows, kRowThreads, 0, stream>>>(ids, positions, word, pos, type0, gamma, beta, out, dim, eps);
  HD_CHECK_LAUNCH();
}

void bert_residual_layernorm(float* x, const float* y, const float* bias, const float* gamma, const float* beta,
                             int rows, int dim, float eps, cudaStream_t stream) {
  check_dim(dim, "bert_residual_layernorm");
  if (rows == 0) return;
  residual_layernorm_kernel<<<rows, kRowThreads, 0, stream>>>(x, y, bias, gamma, beta, dim, eps);
  HD_CHECK_LAUNCH();
}

void bert_bias_gelu(float* y, const float* bias, int rows, int dim, cudaStream_t stream) {
  const long long n = static_cast<long long>(rows) * dim;
  if (n == 0) return;
  bias_gelu_kernel<<<static_cast<unsigned>(std::min<long long>((n + 255) / 256, 4096)), 256, 0, stream>>>(y, bias, n, dim);
  HD_CHECK_LAUNCH();
}

void bert_attention(const float* q, const float* k, const float* v, const float* bq, const float* bk, const float* bv,
                    const int* seq_start, int sequences, int max_len, int heads, float* ctx, cudaStream_t stream) {
  if (max_len > 32 * kMaxKeysPerLane) {
    throw std::invalid_argument("bert_attention: sequences of " + std::to_string(max_len) + " rows (at most " +
                                std::to_string(32 * kMaxKeysPerLane) + ")");
  }
  if (sequences == 0) return;
  const int smem = (max_len * (2 * kHeadDim + 1) + kAttnWarps * kHeadDim) * static_cast<int>(sizeof(float));
  static const bool configured = [] {
    HD_CUDA_CHECK(cudaFuncSetAttribute(attention_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                       (32 * kMaxKeysPerLane * (2 * kHeadDim + 1) + kAttnWarps * kHeadDim) * 4));
    return true;
  }();
  (void)configured;
  attention_kernel<<<dim3(sequences, heads), kAttnWarps * 32, smem, stream>>>(q, k, v, bq, bk, bv, seq_start, heads, ctx);
  HD_CHECK_LAUNCH();
}

void bert_mean_pool_normalize(const float* x, const int* seq_start, int sequences, int dim, float* out,
                              cudaStream_t stream) {
  check_dim(dim, "bert_mean_pool_normalize");
  if (sequences == 0) return;
  mean_pool_kernel<<<sequences, kRowThreads, 0, stream>>>(x, seq_start, dim, out);
  HD_CHECK_LAUNCH();
}

}  // namespace hd
