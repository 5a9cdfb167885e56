#pragma once
// Flash-style causal GQA attention on tensor cores (WMMA, bf16 in, float32 accumulate).
// A block of 4 warps owns 64 query rows of one head; each warp owns 16 rows. Key/value tiles
// of 64 rows go through shared memory; per tile each warp computes S = Q K^T (tensor cores),
// an online softmax in float32 on its rows, and O += P V (tensor cores) with O kept in
// shared memory so rows can be rescaled. Head dims 64 and 128.
#include <cuda_bf16.h>
#include <mma.h>

#include "hd/kernels/attention.h"

namespace hd::attention_detail {

constexpr int kRowsPerBlock = 64, kKeysPerTile = 64, kWarpsPerBlock = 4;

template <int HD>
struct Smem {
  __nv_bfloat16 q[kRowsPerBlock][HD];
  __nv_bfloat16 k[kKeysPerTile][HD];
  __nv_bfloat16 v[kKeysPerTile][HD];
  float s[kWarpsPerBlock][16][kKeysPerTile];
  __nv_bfloat16 p[kWarpsPerBlock][16][kKeysPerTile];
  float o[kWarpsPerBlock][16][HD];
  float m[kWarpsPerBlock][16], l[kWarpsPerBlock][16];
};

template <int HD>
__global__ void __launch_bounds__(128) flash_wmma_kernel(AttentionParams<__nv_bfloat16> p) {
  using namespace nvcuda;
  extern __shared__ __align__(16) unsigned char smem_raw[];
  Smem<HD>& sm = *reinterpret_cast<Smem<HD>*>(smem_raw);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int h = blockIdx.y, kvh = h / (p.heads / p.kv_heads);
  const int q0 = blockIdx.x * kRowsPerBlock;
  const int q_width = p.heads * HD, kv_width = p.kv_heads * HD;
  const float scale = rsqrtf(static_cast<float>(HD));
  constexpr int kChunks = HD / 8;  // 16-byte pieces per row

  // Q tile (rows past the chunk are zero) and per-row state.
  for (int i = threadIdx.x; i < kRowsPerBlock * kChunks; i += blockDim.x) {
    const int r = i / kChunks, c = i % kChunks;
    uint4 v = make_uint4(0, 0, 0, 0);
    if (q0 + r < p.rows) v = *reinterpret_cast<const uint4*>(p.q + static_cast<long long>(q0 + r) * q_width + h * HD + c * 8);
    *reinterpret_cast<uint4*>(&sm.q[r][c * 8]) = v;
  }
  for (int i = lane; i < 16 * HD; i += 32) sm.o[warp][i / HD][i % HD] = 0.f;
  if (lane < 16) {
    sm.m[warp][lane] = -INFINITY;
    sm.l[warp][lane] = 0.f;
  }
  __syncthreads();

  wmma::fragment<wmma::matrix_a, 16, 16, 16, __nv_bfloat16, wmma::row_major> qf[HD / 16];
  for (int k = 0; k < HD / 16; ++k) wmma::load_matrix_sync(qf[k], &sm.q[warp * 16][k * 16], HD);

  const long long last_row_pos = p.first_position + min(p.rows, q0 + kRowsPerBlock) - 1;
  const long long key_count = last_row_pos + 1;
  for (long long kt = 0; kt < key_count; kt += kKeysPerTile) {
    for (int i = threadIdx.x; i < kKeysPerTile * kChunks; i += blockDim.x) {
      const int r = i / kChunks, c = i % kChunks;
      uint4 kv = make_uint4(0, 0, 0, 0), vv = make_uint4(0, 0, 0, 0);
      if (kt + r < key_count) {
        const long long at = (kt + r) * kv_width + kvh * HD + c * 8;
        kv = *reinterpret_cast<const uint4*>(p.k_cache + at);
        vv = *reinterpret_cast<const uint4*>(p.v_cache + at);
      }
      *reinterpret_cast<uint4*>(&sm.k[r][c * 8]) = kv;
      *reinterpret_cast<uint4*>(&sm.v[r][c * 8]) = vv;
    }
    __syncthreads();

    // S = Q K^T for this warp's 16 rows and the tile's 64 keys.
    for (int n = 0; n < kKeysPerTile / 16; ++n) {
      wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
      wmma::fill_fragment(acc, 0.f);
      for (int k = 0; k < HD / 16; ++k) {
        wmma::fragment<wmma::matrix_b, 16, 16, 16, __nv_bfloat16, wmma::col_major> kf;
        wmma::load_matrix_sync(kf, &sm.k[n * 16][k * 16], HD);
        wmma::mma_sync(acc, qf[k], kf, acc);
      }
      wmma::store_matrix_sync(&sm.s[warp][0][n * 16], acc, kKeysPerTile, wmma::mem_row_major);
    }
    __syncwarp();

    // Online softmax: two lanes per row, 32 keys each.
    {
      const int row = lane / 2, half = lane % 2;
      const int qr = q0 + warp * 16 + row;
      const long long qpos = p.first_position + qr;
      const bool valid_row = qr < p.rows;
      float tile_max = -INFINITY;
      for (int j = half * 32; j < half * 32 + 32; ++j) {
        const long long key = kt + j;
        const float sv = (valid_row && key <= qpos) ? sm.s[warp][row][j] * scale : -INFINITY;
        sm.s[warp][row][j] = sv;
        tile_max = fmaxf(tile_max, sv);
      }
      tile_max = fmaxf(tile_max, __shfl_xor_sync(0xffffffffu, tile_max, 1));
      const float m_old = sm.m[warp][row];
      const float m_new = fmaxf(m_old, tile_max);
      // A row with nothing visible yet keeps m = -inf: use 0 so exp() gives 0, not NaN.
      const float base = m_new == -INFINITY ? 0.f : m_new;
      const float corr = m_old == -INFINITY ? 0.f : __expf(m_old - base);
      float sum = 0.f;
      for (int j = half * 32; j < half * 32 + 32; ++j) {
        const float pv = __expf(sm.s[warp][row][j] - base);
        sm.p[warp][row][j] = __float2bfloat16(pv);
        sum += pv;
      }
      sum += __shfl_xor_sync(0xffffffffu, sum, 1);
      for (int d = half * (HD / 2); d < (half + 1) * (HD / 2); ++d) sm.o[warp][row][d] *= corr;
      __syncwarp();
      if (half == 0) {
        sm.m[warp][row] = m_new;
        sm.l[warp][row] = sm.l[warp][row] * corr + sum;
      }
    }
    __syncwarp();

    // O += P V.
    for (int n = 0; n < HD / 16; ++n) {
      wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
      wmma::load_matrix_sync(acc, &sm.o[warp][0][n * 16], HD, wmma::mem_row_major);
      for (int k = 0; k < kKeysPerTile / 16; ++k) {
        wmma::fragment<wmma::matrix_a, 16, 16, 16, __nv_bfloat16, wmma::row_major> pf;
        wmma::fragment<wmma::matrix_b, 16, 16, 16, __nv_bfloat16, wmma::row_major> vf;
        wmma::load_matrix_sync(pf, &sm.p[warp][0][k * 16], kKeysPerTile);
        wmma::load_matrix_sync(vf, &sm.v[k * 16][n * 16], HD);
        wmma::mma_sync(acc, pf, vf, acc);
      }
      wmma::store_matrix_sync(&sm.o[warp][0][n * 16], acc, HD, wmma::mem_row_major);
    }
    __syncthreads();  // the next tile overwrites k and v
  }

  for (int i = lane; i < 16 * HD; i += 32) {
    const int row = i / HD, d = i % HD, qr = q0 + warp * 16 + row;
    if (qr < p.rows) {
      p.out[static_cast<long long>(qr) * q_width + h * HD + d] = __float2bfloat16(sm.o[warp][row][d] / sm.l[warp][row]);
    }
  }
}

}  // namespace hd::attention_detail
