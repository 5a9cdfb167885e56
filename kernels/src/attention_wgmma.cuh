#pragma once
// Causal GQA attention forward for Hopper (sm_90a): warpgroup MMA (wgmma) instead of mma.sync.
// A block of two warpgroups owns 128 query rows of one head (64 rows each) and walks the keys in
// tiles of 128. Key and value tiles stream into shared memory with cp.async, double buffered, in
// the 128-byte-swizzled layout wgmma reads through a matrix descriptor; Q and the probabilities
// P stay in registers as the A operand. Head dim 128 only (the 7B model's).
//
// Layouts (PTX ISA, "wgmma: register fragments and shared memory matrix layout"):
//   accumulator m64nN f32, warp w of the warpgroup, lane l: d[4j + e] is row 16w + l/4 + 8*(e/2),
//     column 8j + 2*(l%4) + e%2 -- the mma.sync m16n8 C layout repeated along N;
//   A in registers m64k16 bf16: a0..a3 = (r, c), (r+8, c), (r, c+8), (r+8, c+8), c = 2*(l%4),
//     so the S accumulator of 16 keys is, packed to bf16, the A operand of P V (as in FA2);
//   shared tiles: a [128 keys][128 dims] tile is two blocks of [128 keys][64 dims], each row 128
//     bytes, 16-byte chunk c of row r stored at chunk c ^ (r % 8) (Swizzle<3,4,3>), blocks 1024-byte
//     aligned. For S = Q K^T the K tile is B "K-major" (keys are N, dims are K): 8-row groups
//     1024 bytes apart (SBO), and a k16 step moves the start address 32 bytes within the block.
//     For O += P V the V tile is B "MN-major" (dims are N, keys are K, transposed): 8-key groups
//     1024 bytes apart (SBO) and the second 64-dim block one block further (LBO).
#include <cuda_bf16.h>

#include <cstdint>

#include "attention_fa2.cuh"  // cp.async helpers, pack_bf16
#include "hd/kernels/attention.h"

namespace hd::attention_detail {

constexpr int kWgRows = 128, kWgKeys = 128, kWgHeadDim = 128, kWgThreads = 256;
constexpr int kWgBlockBytes = kWgKeys * 128;  // one [keys][64 dims] block

struct alignas(1024) WgmmaSmem {
  unsigned char k[2][2][kWgBlockBytes];  // [stage][dim block]
  unsigned char v[2][2][kWgBlockBytes];
};

#if defined(__CUDA_ARCH_FEAT_SM90_ALL)

// Shared memory matrix descriptor, 128-byte swizzle: start address, leading and stride byte
// offsets, all in units of 16 bytes.
__device__ __forceinline__ uint64_t wg_desc(const void* smem, uint32_t lbo_bytes, uint32_t sbo_bytes) {
  const uint32_t addr = static_cast<uint32_t>(__cvta_generic_to_shared(smem));
  uint64_t d = 0;
  d |= static_cast<uint64_t>((addr & 0x3FFFF) >> 4);
  d |= static_cast<uint64_t>(lbo_bytes >> 4) << 16;
  d |= static_cast<uint64_t>(sbo_bytes >> 4) << 32;
  d |= static_cast<uint64_t>(1) << 62;  // 128B swizzle
  return d;
}

__device__ __forceinline__ void wg_fence() { asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory"); }
__device__ __forceinline__ void wg_commit() { asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory"); }
__device__ __forceinline__ void wg_wait_all() { asm volatile("wgmma.wait_group.sync.aligned 0;\n" ::: "memory"); }
// Orders this thread's generic-proxy writes to shared memory (cp.async) before wgmma reads them.
__device__ __forceinline__ void fence_async_shared() { asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory"); }
// Accumulator registers are written by wgmma behind the compiler's back: this empty asm makes
// every later read of them depend on a point after the wait (CUTLASS's warpgroup_fence_operand).
__device__ __forceinline__ void wg_pin(float (&d)[64]) {
  for (int i = 0; i < 64; ++i) asm volatile("" : "+f"(d[i])::"memory");
}

#define HD_WG_ACC16(i) \
  "+f"(d[i + 0]), "+f"(d[i + 1]), "+f"(d[i + 2]), "+f"(d[i + 3]), "+f"(d[i + 4]), "+f"(d[i + 5]), \
      "+f"(d[i + 6]), "+f"(d[i + 7]), "+f"(d[i + 8]), "+f"(d[i + 9]), "+f"(d[i + 10]), "+f"(d[i + 11]), \
      "+f"(d[i + 12]), "+f"(d[i + 13]), "+f"(d[i + 14]), "+f"(d[i + 15])

// d (64 x 128, f32) (+)= a (64 x 16, bf16 registers) * B (16 x 128 from shared memory).
// kTransB: B is MN-major (V); otherwise K-major (K). accumulate false overwrites d.
template <int kTransB>
__device__ __forceinline__ void wg_mma_m64n128k16(float (&d)[64], const uint32_t (&a)[4], uint64_t desc_b,
                                                  bool accumulate) {
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, %69, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 "
      "{%0,%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13,%14,%15,"
      "%16,%17,%18,%19,%20,%21,%22,%23,%24,%25,%26,%27,%28,%29,%30,%31,"
      "%32,%33,%34,%35,%36,%37,%38,%39,%40,%41,%42,%43,%44,%45,%46,%47,"
      "%48,%49,%50,%51,%52,%53,%54,%55,%56,%57,%58,%59,%60,%61,%62,%63}, "
      "{%64,%65,%66,%67}, %68, p, 1, 1, %70;\n}\n"
      : HD_WG_ACC16(0), HD_WG_ACC16(16), HD_WG_ACC16(32), HD_WG_ACC16(48)
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(desc_b), "r"(static_cast<int>(accumulate)), "n"(kTransB));
}
#undef HD_WG_ACC16

#endif  // __CUDA_ARCH_FEAT_SM90_ALL

__global__ void __launch_bounds__(kWgThreads, 1) wgmma_attention_kernel(AttentionParams<__nv_bfloat16> p) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  extern __shared__ __align__(1024) unsigned char wg_smem_raw[];
  // The dynamic shared window is 16-byte aligned by contract; round up to the 1024 bytes the
  // swizzle pattern is anchored to (the launcher asks for 1 KB extra).
  const uint32_t raw = static_cast<uint32_t>(__cvta_generic_to_shared(wg_smem_raw));
  WgmmaSmem& sm = *reinterpret_cast<WgmmaSmem*>(wg_smem_raw + ((1024 - (raw & 1023)) & 1023));

  constexpr int HD = kWgHeadDim;
  const int wg = threadIdx.x / 128, warp = (threadIdx.x / 32) % 4, lane = threadIdx.x % 32;
  const int h = blockIdx.x, kvh = h / (p.heads / p.kv_heads);
  // Later query blocks see more keys: start them first so the tail of the grid is short.
  const int q0 = (gridDim.y - 1 - blockIdx.y) * kWgRows;
  const long long q_width = static_cast<long long>(p.heads) * HD, kv_width = static_cast<long long>(p.kv_heads) * HD;
  const float scale_log2 = rsqrtf(static_cast<float>(HD)) * 1.4426950408889634f;

  const int r_lo = q0 + wg * 64 + warp * 16 + lane / 4;  // this thread's rows: r_lo and r_lo + 8
  const long long pos_lo = p.first_position + r_lo, pos_hi = pos_lo + 8;
  const long long key_count = p.first_position + min(p.rows, q0 + kWgRows);
  const long long wg_first_pos = p.first_position + q0 + wg * 64;
  const long long wg_last_pos = wg_first_pos + 63;

  // Q fragments straight from global memory (read once per block).
  uint32_t qf[HD / 16][4];
  {
    const __nv_bfloat16* q_lo = p.q + static_cast<long long>(r_lo) * q_width + h * HD;
    const __nv_bfloat16* q_hi = q_lo + 8 * q_width;
    const bool lo_ok = r_lo < p.rows, hi_ok = r_lo + 8 < p.rows;
    for (int kk = 0; kk < HD / 16; ++kk) {
      const int c = kk * 16 + 2 * (lane % 4);
      qf[kk][0] = lo_ok ? *reinterpret_cast<const uint32_t*>(q_lo + c) : 0u;
      qf[kk][1] = hi_ok ? *reinterpret_cast<const uint32_t*>(q_hi + c) : 0u;
      qf[kk][2] = lo_ok ? *reinterpret_cast<const uint32_t*>(q_lo + c + 8) : 0u;
      qf[kk][3] = hi_ok ? *reinterpret_cast<const uint32_t*>(q_hi + c + 8) : 0u;
    }
  }

  // Copies the key/value tile starting at key k0 into `stage`: 16-byte chunk c of key r goes to
  // block c / 8, row r, swizzled chunk (c % 8) ^ (r % 8).
  auto fetch = [&](long long k0, int stage) {
    for (int i = threadIdx.x; i < kWgKeys * (HD / 8); i += kWgThreads) {
      const int r = i / (HD / 8), c = i % (HD / 8);
      const bool valid = k0 + r < key_count;
      const long long at = valid ? (k0 + r) * kv_width + kvh * HD + c * 8 : 0;
      const int off = r * 128 + (((c % 8) ^ (r % 8)) * 16);
      cp_async_16(&sm.k[stage][c / 8][off], p.k_cache + at, valid);
      cp_async_16(&sm.v[stage][c / 8][off], p.v_cache + at, valid);
    }
    cp_async_commit();
  };

  float o[64];
  for (int i = 0; i < 64; ++i) o[i] = 0.f;
  float m_run[2] = {-INFINITY, -INFINITY}, l_run[2] = {0.f, 0.f};
  const long long last_tile_key = min(key_count, p.first_position + q0 + kWgRows);  // keys past it are masked for all rows

  fetch(0, 0);
  int stage = 0;
  for (long long kt = 0; kt < last_tile_key; kt += kWgKeys, stage ^= 1) {
    if (kt + kWgKeys < last_tile_key) {
      fetch(kt + kWgKeys, stage ^ 1);  // the next tile streams in during this one
      cp_async_wait<1>();
    } else {
      cp_async_wait<0>();
    }
    fence_async_shared();
    __syncthreads();

    if (kt <= wg_last_pos) {  // else every key of this tile is in this warpgroup's future
      // S = Q K^T over 8 k16 steps of the head dim.
      float s[64];
      for (int i = 0; i < 64; ++i) s[i] = 0.f;
      wg_pin(o);
      wg_fence();
      for (int kk = 0; kk < HD / 16; ++kk) {
        const uint64_t desc = wg_desc(&sm.k[stage][kk / 4][(kk % 4) * 32], 16, 1024);
        wg_mma_m64n128k16<0>(s, qf[kk], desc, kk > 0);
      }
      wg_commit();
      wg_wait_all();
      wg_pin(s);

      // Mask (diagonal and past-the-end tiles), then the online softmax in log2 units.
      const bool needs_mask = kt + kWgKeys - 1 > wg_first_pos || kt + kWgKeys > key_count;
      float tile_max[2] = {-INFINITY, -INFINITY};
      for (int j = 0; j < kWgKeys / 8; ++j) {
        for (int e = 0; e < 4; ++e) {
          float v = s[4 * j + e] * scale_log2;
          if (needs_mask) {
            const long long key = kt + 8 * j + 2 * (lane % 4) + (e & 1);
            const long long pos = e < 2 ? pos_lo : pos_hi;
            if (key > pos || key >= key_count) v = -INFINITY;
          }
          s[4 * j + e] = v;
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
      const float base[2] = {m_run[0] == -INFINITY ? 0.f : m_run[0], m_run[1] == -INFINITY ? 0.f : m_run[1]};
      float row_sum[2] = {0.f, 0.f};
      uint32_t pf[kWgKeys / 16][4];
      for (int kk = 0; kk < kWgKeys / 16; ++kk) {
        float e[8];
        for (int t = 0; t < 4; ++t) {
          e[t] = exp2f(s[8 * kk + t] - base[t / 2]);
          e[4 + t] = exp2f(s[8 * kk + 4 + t] - base[t / 2]);
        }
        row_sum[0] += e[0] + e[1] + e[4] + e[5];
        row_sum[1] += e[2] + e[3] + e[6] + e[7];
        pf[kk][0] = pack_bf16(e[0], e[1]);
        pf[kk][1] = pack_bf16(e[2], e[3]);
        pf[kk][2] = pack_bf16(e[4], e[5]);
        pf[kk][3] = pack_bf16(e[6], e[7]);
      }
      for (int r = 0; r < 2; ++r) l_run[r] = l_run[r] * corr[r] + row_sum[r];
      for (int j = 0; j < HD / 8; ++j) {
        o[4 * j + 0] *= corr[0];
        o[4 * j + 1] *= corr[0];
        o[4 * j + 2] *= corr[1];
        o[4 * j + 3] *= corr[1];
      }

      // O += P V over 8 k16 steps of the keys.
      wg_pin(o);
      wg_fence();
      for (int kk = 0; kk < kWgKeys / 16; ++kk) {
        const uint64_t desc = wg_desc(&sm.v[stage][0][kk * 2048], kWgBlockBytes, 1024);
        wg_mma_m64n128k16<1>(o, pf[kk], desc, true);
      }
      wg_commit();
      wg_wait_all();
      wg_pin(o);
    }
    __syncthreads();  // this stage is refilled two tiles from now
  }

  for (int r = 0; r < 2; ++r) {
    l_run[r] += __shfl_xor_sync(0xffffffffu, l_run[r], 1);
    l_run[r] += __shfl_xor_sync(0xffffffffu, l_run[r], 2);
  }
  for (int half = 0; half < 2; ++half) {
    const int row = r_lo + 8 * half;
    if (row >= p.rows) continue;
    const float inv = 1.f / l_run[half];
    __nv_bfloat16* out = p.out + static_cast<long long>(row) * q_width + h * HD;
    for (int j = 0; j < HD / 8; ++j) {
      const int dcol = 8 * j + 2 * (lane % 4);
      *reinterpret_cast<__nv_bfloat162*>(out + dcol) =
          __floats2bfloat162_rn(o[4 * j + 2 * half] * inv, o[4 * j + 2 * half + 1] * inv);
    }
  }
#else
  (void)p;  // built for sm_90a only; the launcher never picks it elsewhere
#endif
}

}  // namespace hd::attention_detail
