#pragma once
// FlashAttention-2-style causal GQA forward on tensor cores (mma.sync m16n8k16, bf16 in,
// float32 accumulate). A block of 4 warps owns 64 query rows of one head; each warp owns 16
// rows and keeps its scores, probabilities and output in registers (the S accumulator
// layout is reused as the A operand of P V). Key/value tiles of 64 rows are staged in
// shared memory with an XOR swizzle so ldmatrix reads are conflict-free.
// Fragment layouts (PTX ISA, mma.m16n8k16): A a0..a3 = (r, c), (r+8, c), (r, c+8), (r+8, c+8)
// with r = lane/4, c = 2*(lane%4); B b0, b1 = (k = c, n = lane/4), (k = c+8, n); C c0..c3 =
// (r, c), (r, c+1), (r+8, c), (r+8, c+1).
#include <cuda_bf16.h>

#include <cstdint>

#include "hd/kernels/attention.h"

namespace hd::attention_detail {

constexpr int kFaRows = 64, kFaKeys = 64, kFaWarps = 4;

__device__ __forceinline__ void ldmatrix_x4(uint32_t& r0, uint32_t& r1, uint32_t& r2, uint32_t& r3, const void* p) {
  const unsigned a = static_cast<unsigned>(__cvta_generic_to_shared(p));
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r0), "=r"(r1), "=r"(r2), "=r"(r3)
               : "r"(a));
}
__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t& r0, uint32_t& r1, uint32_t& r2, uint32_t& r3,
                                                  const void* p) {
  const unsigned a = static_cast<unsigned>(__cvta_generic_to_shared(p));
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r0), "=r"(r1), "=r"(r2), "=r"(r3)
               : "r"(a));
}
__device__ __forceinline__ void mma_bf16(float (&c)[4], uint32_t a0, uint32_t a1, uint32_t a2, uint32_t a3, uint32_t b0,
                                         uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
      "{%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
}
// 16 bytes global -> shared without passing through registers; `valid` false writes zeros.
__device__ __forceinline__ void cp_async_16(void* dst, const void* src, bool valid) {
  const unsigned d = static_cast<unsigned>(__cvta_generic_to_shared(dst));
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(d), "l"(src), "r"(valid ? 16 : 0));
}
__device__ __forceinline__ void cp_async_commit() {
  asm volatile("cp.async.commit_group;\n" ::);
}
template <int N>
__device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
}

__device__ __forceinline__ uint32_t pack_bf16(float lo, float hi) {
  __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
  return *reinterpret_cast<uint32_t*>(&v);
}

// Address of the 16-byte chunk holding column `col` (a multiple of 8) of row `row`.
template <int HD>
__device__ __forceinline__ __nv_bfloat16* swizzled(__nv_bfloat16 (*tile)[HD], int row, int col) {
  const int chunk = (col / 8) ^ (row & 7);
  return &tile[row][chunk * 8];
}

// The end of both tensor-core kernels: this thread's two rows (r_lo, r_lo + 8), whose softmax sums
// are spread over the 4 lanes of a row group, divided by those sums and stored as bf16.
// acc(j, e) is element e of the thread's m16n8 C fragment for columns 8j..8j+7.
template <int HD, typename Acc>
__device__ __forceinline__ void store_output_rows(const AttentionParams<__nv_bfloat16>& p, int h, int r_lo, int lane,
                                                  float (&l_run)[2], Acc acc) {
  for (int r = 0; r < 2; ++r) {
    l_run[r] += __shfl_xor_sync(0xffffffffu, l_run[r], 1);
    l_run[r] += __shfl_xor_sync(0xffffffffu, l_run[r], 2);
  }
  const long long q_width = static_cast<long long>(p.heads) * HD;
  for (int half = 0; half < 2; ++half) {
    const int row = r_lo + 8 * half;
    if (row >= p.rows) continue;
    const float inv = 1.f / l_run[half];
    __nv_bfloat16* out = p.out + row * q_width + h * HD;
    for (int j = 0; j < HD / 8; ++j) {
      const int d = 8 * j + 2 * (lane % 4);
      *reinterpret_cast<__nv_bfloat162*>(out + d) =
          __floats2bfloat162_rn(acc(j, 2 * half) * inv, acc(j, 2 * half + 1) * inv);
    }
  }
}

template <int HD>
struct Fa2Smem {
  __nv_bfloat16 q[kFaRows][HD];
  __nv_bfloat16 k[2][kFaKeys][HD];
  __nv_bfloat16 v[2][kFaKeys][HD];
};

template <int HD>
__global__ void __launch_bounds__(kFaWarps * 32) fa2_kernel(AttentionParams<__nv_bfloat16> p) {
  extern __shared__ __align__(128) unsigned char fa2_smem_raw[];
  Fa2Smem<HD>& sm = *reinterpret_cast<Fa2Smem<HD>*>(fa2_smem_raw);
  auto& q_s = sm.q;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int h = blockIdx.y, kvh = h / (p.heads / p.kv_heads);
  const int q0 = blockIdx.x * kFaRows;
  const long long q_width = static_cast<long long>(p.heads) * HD, kv_width = static_cast<long long>(p.kv_heads) * HD;
  constexpr int kChunks = HD / 8;
  const float scale_log2 = rsqrtf(static_cast<float>(HD)) * 1.4426950408889634f;

  for (int i = threadIdx.x; i < kFaRows * kChunks; i += blockDim.x) {
    const int r = i / kChunks, c = i % kChunks;
    uint4 v = make_uint4(0, 0, 0, 0);
    if (q0 + r < p.rows) v = *reinterpret_cast<const uint4*>(p.q + (q0 + r) * q_width + h * HD + c * 8);
    *reinterpret_cast<uint4*>(swizzled<HD>(q_s, r, c * 8)) = v;
  }
  __syncthreads();
  uint32_t qf[HD / 16][4];
  for (int kk = 0; kk < HD / 16; ++kk) {
    const int m = lane / 8, row = warp * 16 + (m % 2) * 8 + lane % 8, col = kk * 16 + (m / 2) * 8;
    ldmatrix_x4(qf[kk][0], qf[kk][1], qf[kk][2], qf[kk][3], swizzled<HD>(q_s, row, col));
  }

  float o[HD / 8][4];
  for (int j = 0; j < HD / 8; ++j) o[j][0] = o[j][1] = o[j][2] = o[j][3] = 0.f;
  float m_run[2] = {-INFINITY, -INFINITY}, l_run[2] = {0.f, 0.f};
  const int r_lo = q0 + warp * 16 + lane / 4;  // this thread's rows: r_lo and r_lo + 8
  const long long pos_lo = p.first_position + r_lo, pos_hi = pos_lo + 8;
  const long long key_count = p.first_position + min(p.rows, q0 + kFaRows);
  const long long warp_first_pos = p.first_position + q0 + warp * 16;

  // Issues the copies of the key/value tile starting at key `k0` into stage `stage`.
  auto fetch = [&](long long k0, int stage) {
    for (int i = threadIdx.x; i < kFaKeys * kChunks; i += blockDim.x) {
      const int r = i / kChunks, c = i % kChunks;
      const bool valid = k0 + r < key_count;
      const long long at = valid ? (k0 + r) * kv_width + kvh * HD + c * 8 : 0;
      cp_async_16(swizzled<HD>(sm.k[stage], r, c * 8), p.k_cache + at, valid);
      cp_async_16(swizzled<HD>(sm.v[stage], r, c * 8), p.v_cache + at, valid);
    }
    cp_async_commit();
  };
  fetch(0, 0);
  int stage = 0;
  for (long long kt = 0; kt < key_count; kt += kFaKeys, stage ^= 1) {
    if (kt + kFaKeys < key_count) {
      fetch(kt + kFaKeys, stage ^ 1);  // the next tile streams in during this one
      cp_async_wait<1>();
    } else {
      cp_async_wait<0>();
    }
    __syncthreads();
    auto& k_s = sm.k[stage];
    auto& v_s = sm.v[stage];
    if (kt <= warp_first_pos + 15) {  // else every key of this tile is in this warp's future

      // S = Q K^T: 8 blocks of 8 keys.
      float s[kFaKeys / 8][4];
      for (int j = 0; j < kFaKeys / 8; ++j) s[j][0] = s[j][1] = s[j][2] = s[j][3] = 0.f;
      for (int kk = 0; kk < HD / 16; ++kk) {
        for (int j = 0; j < kFaKeys / 8; j += 2) {
          const int m = lane / 8, key = 8 * (j + m / 2) + lane % 8, col = kk * 16 + (m % 2) * 8;
          uint32_t b0, b1, b2, b3;
          ldmatrix_x4(b0, b1, b2, b3, swizzled<HD>(k_s, key, col));
          mma_bf16(s[j], qf[kk][0], qf[kk][1], qf[kk][2], qf[kk][3], b0, b1);
          mma_bf16(s[j + 1], qf[kk][0], qf[kk][1], qf[kk][2], qf[kk][3], b2, b3);
        }
      }

      // Mask (diagonal and past-the-end tiles), then the online softmax in log2 units.
      const bool needs_mask = kt + kFaKeys - 1 > warp_first_pos || kt + kFaKeys > key_count;
      float tile_max[2] = {-INFINITY, -INFINITY};
      for (int j = 0; j < kFaKeys / 8; ++j) {
        for (int e = 0; e < 4; ++e) {
          const long long key = kt + 8 * j + 2 * (lane % 4) + (e & 1);
          const long long pos = e < 2 ? pos_lo : pos_hi;
          const bool row_ok = (e < 2 ? r_lo : r_lo + 8) < p.rows;
          float v = s[j][e] * scale_log2;
          if (needs_mask && (key > pos || key >= key_count || !row_ok)) v = -INFINITY;
          if (!row_ok) v = -INFINITY;
          s[j][e] = v;
          tile_max[e / 2] = fmaxf(tile_max[e / 2], v);
        }
      }
      float corr[2];
      for (int r = 0; r < 2; ++r) {
        tile_max[r] = fmaxf(tile_max[r], __shfl_xor_sync(0xffffffffu, tile_max[r], 1));
        tile_max[r] = fmaxf(tile_max[r], __shfl_xor_sync(0xffffffffu, tile_max[r], 2));
        const float m_new = fmaxf(m_run[r], tile_max[r]);
        corr[r] = m_run[r] == -INFINITY ? 0.f : exp2f(m_run[r] - m_new);
        m_run[r] = m_new;
      }
      float row_sum[2] = {0.f, 0.f};
      for (int j = 0; j < kFaKeys / 8; ++j) {
        for (int e = 0; e < 4; ++e) {
          const float base = m_run[e / 2] == -INFINITY ? 0.f : m_run[e / 2];
          const float pv = exp2f(s[j][e] - base);
          s[j][e] = pv;
          row_sum[e / 2] += pv;
        }
      }
      for (int r = 0; r < 2; ++r) l_run[r] = l_run[r] * corr[r] + row_sum[r];
      for (int j = 0; j < HD / 8; ++j) {
        o[j][0] *= corr[0];
        o[j][1] *= corr[0];
        o[j][2] *= corr[1];
        o[j][3] *= corr[1];
      }

      // O += P V: P's accumulator layout is the A operand, 16 keys per k-step.
      for (int kk = 0; kk < kFaKeys / 16; ++kk) {
        const uint32_t a0 = pack_bf16(s[2 * kk][0], s[2 * kk][1]), a1 = pack_bf16(s[2 * kk][2], s[2 * kk][3]);
        const uint32_t a2 = pack_bf16(s[2 * kk + 1][0], s[2 * kk + 1][1]);
        const uint32_t a3 = pack_bf16(s[2 * kk + 1][2], s[2 * kk + 1][3]);
        for (int j = 0; j < HD / 8; j += 2) {
          const int m = lane / 8, key = kk * 16 + (m % 2) * 8 + lane % 8, col = 8 * (j + m / 2);
          uint32_t b0, b1, b2, b3;
          ldmatrix_x4_trans(b0, b1, b2, b3, swizzled<HD>(v_s, key, col));
          mma_bf16(o[j], a0, a1, a2, a3, b0, b1);
          mma_bf16(o[j + 1], a0, a1, a2, a3, b2, b3);
        }
      }
    }
    __syncthreads();  // this stage is refilled two tiles from now
  }

  store_output_rows<HD>(p, h, r_lo, lane, l_run, [&](int j, int e) { return o[j][e]; });
}

}  // namespace hd::attention_detail
