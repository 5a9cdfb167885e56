#pragma once
// The Hopper attention kernel, with a producer (FlashAttention-3's structure, without its
// intra-warpgroup overlap; against every thread loading by cp.async it measured 4% faster at
// 128k tokens, bench/results/attention-*-337a942.json): one warpgroup only moves data -- one thread
// issues TMA copies of the key/value tiles into a two-stage ring guarded by mbarriers -- while
// warpgroups 0 and 1 each own 64 query rows and run the wgmma/softmax loop of attention_wgmma.cuh. No block-wide
// barrier inside the loop: a consumer waits for its tile's "full" barrier and releases the
// stage through its "empty" barrier. The two consumers take turns issuing S = Q K^T (named
// barriers 1 and 2), so one's softmax runs while the other's matrix multiply does.
// TMA writes each [128 keys][64 dims] box in the 128-byte swizzle the descriptors expect, and
// fills keys past the tensor map's extent (the visible keys) with zeros.
#include <cuda.h>
#include <cuda_bf16.h>

#include <cstdint>

#include "attention_wgmma.cuh"
#include "hd/kernels/attention_parts.h"

namespace hd::attention_detail {

// Two consumer warpgroups and one producer warpgroup. 384 threads leave ptxas 168 registers a
// thread, too few for a consumer's accumulators (O and S, 128) plus P and addresses: it then
// serialized every wgmma (ptxas C7512: each waited for the one before, so a tile's eight QK^T steps
// never overlapped). So the producer gives registers back (setmaxnreg.dec to 24: it only issues
// TMA copies) and the consumers take them (setmaxnreg.inc to 240): 128 x 24 + 256 x 240 <= 65,536.
constexpr int kTmaThreads = 384;
constexpr int kProducerRegisters = 24, kConsumerRegisters = 240;
// Two stages: three (K and V on separate barriers) measured 5% slower at 128k tokens
// (bench/results/attention-*-4699812.json), so waiting for TMA is not what limits this loop.
constexpr int kTmaStages = 2;
constexpr int kTmaTileBytes = 4 * kWgBlockBytes;  // K and V, two 64-dim blocks each

struct alignas(1024) WgmmaTmaSmem {
  unsigned char q[2][2][64 * 128];  // [consumer][dim block][64 rows x 128 bytes], swizzled like K
  unsigned char k[kTmaStages][2][kWgBlockBytes];
  unsigned char v[kTmaStages][2][kWgBlockBytes];
  uint64_t full[kTmaStages];
  uint64_t empty[kTmaStages];
};

#if defined(__CUDA_ARCH_FEAT_SM90_ALL)

__device__ __forceinline__ uint32_t smem_u32(const void* p) { return static_cast<uint32_t>(__cvta_generic_to_shared(p)); }
__device__ __forceinline__ void mbar_init(uint64_t* bar, uint32_t count) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(smem_u32(bar)), "r"(count));
}
__device__ __forceinline__ void mbar_wait(uint64_t* bar, uint32_t parity) {
  asm volatile(
      "{\n.reg .pred done;\nWAIT_%=:\n"
      "mbarrier.try_wait.parity.shared::cta.b64 done, [%0], %1;\n"
      "@!done bra WAIT_%=;\n}\n" ::"r"(smem_u32(bar)),
      "r"(parity)
      : "memory");
}
__device__ __forceinline__ void mbar_arrive(uint64_t* bar) {
  asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];\n" ::"r"(smem_u32(bar)) : "memory");
}
__device__ __forceinline__ void mbar_expect_tx(uint64_t* bar, uint32_t bytes) {
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(smem_u32(bar)), "r"(bytes) : "memory");
}
__device__ __forceinline__ void tma_load_2d(void* dst, const CUtensorMap* map, int c0, int c1, uint64_t* bar) {
  asm volatile(
      "cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3}], [%4];\n" ::"r"(
          smem_u32(dst)),
      "l"(reinterpret_cast<uint64_t>(map)), "r"(c0), "r"(c1), "r"(smem_u32(bar))
      : "memory");
}
__device__ __forceinline__ void named_sync(int id) { asm volatile("bar.sync %0, 256;\n" ::"r"(id) : "memory"); }
__device__ __forceinline__ void named_arrive(int id) { asm volatile("bar.arrive %0, 256;\n" ::"r"(id) : "memory"); }

// The pieces both Hopper kernels share (this one and attention_wgmma_overlap.cuh).

// Thread 0: each stage's "full" barrier waits for the producer's one arrival (plus the bytes), its
// "empty" barrier for all 256 consumer threads.
template <int kStages, class Smem>
__device__ __forceinline__ void init_stage_barriers(Smem& sm) {
  if (threadIdx.x == 0) {
    for (int s = 0; s < kStages; ++s) {
      mbar_init(&sm.full[s], 1);
      mbar_init(&sm.empty[s], 256);  // every consumer thread releases the stage
    }
    asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
  }
  __syncthreads();
}

// The producer warpgroup: hands its registers to the consumers, then one thread copies the key and
// value tiles into the ring, each stage once both consumers released its previous lap.
template <int kStages, class Smem>
__device__ __forceinline__ void produce_kv_tiles(Smem& sm, const CUtensorMap* k_map, const CUtensorMap* v_map, int kvh,
                                                 int tiles) {
  asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;\n" ::"n"(kProducerRegisters));
  if (threadIdx.x != 256) return;
  for (int t = 0; t < tiles; ++t) {
    const int s = t % kStages;
    mbar_wait(&sm.empty[s], ((t / kStages) & 1) ^ 1);  // passes at once on the first lap
    mbar_expect_tx(&sm.full[s], kTmaTileBytes);
    const int key = t * kWgKeys, col = kvh * kWgHeadDim;
    tma_load_2d(sm.k[s][0], k_map, col, key, &sm.full[s]);
    tma_load_2d(sm.k[s][1], k_map, col + 64, key, &sm.full[s]);
    tma_load_2d(sm.v[s][0], v_map, col, key, &sm.full[s]);
    tma_load_2d(sm.v[s][1], v_map, col + 64, key, &sm.full[s]);
  }
}

// A consumer warpgroup's 64 query rows into shared memory (A of S = Q K^T is read from there, which
// leaves its registers to the accumulators): chunk c of row r at block c / 8, swizzled like K.
template <class Smem>
__device__ __forceinline__ void load_query_rows(Smem& sm, const AttentionParams<__nv_bfloat16>& p, int wg, int q0, int h) {
  constexpr int HD = kWgHeadDim;
  const long long q_width = static_cast<long long>(p.heads) * HD;
  for (int i = threadIdx.x % 128; i < 64 * (HD / 8); i += 128) {
    const int r = i / (HD / 8), c = i % (HD / 8), row = q0 + wg * 64 + r;
    uint4 v = make_uint4(0, 0, 0, 0);
    if (row < p.rows) v = *reinterpret_cast<const uint4*>(p.q + static_cast<long long>(row) * q_width + h * HD + c * 8);
    *reinterpret_cast<uint4*>(&sm.q[wg][c / 8][r * 128 + (((c % 8) ^ (r % 8)) * 16)]) = v;
  }
  fence_async_shared();
  asm volatile("bar.sync %0, 128;\n" ::"r"(3 + wg) : "memory");  // this warpgroup's copy is complete
}

// Where a thread's two rows are and what they may see.
struct ConsumerRows {
  long long pos_lo, pos_hi;       // positions of this thread's rows r_lo and r_lo + 8
  long long wg_first_pos;         // the warpgroup's first row's position
  long long key_count;            // keys present for this block
  int lane;
  float scale_log2;               // 1/sqrt(head dim), in log2 units
};

// The online softmax of one tile of scores s_acc (keys kt..kt+127): mask (diagonal and
// past-the-end tiles only), update the running max m_run and sum l_run, leave the probabilities in
// bf16 as the A operand of P V in pf and the factor O must be rescaled by in corr. Scores stay
// unscaled; m_run is in log2 units, so each probability is one FFMA and one ex2.
__device__ __forceinline__ void online_softmax_tile(float (&s_acc)[64], long long kt, const ConsumerRows& c,
                                                    float (&m_run)[2], float (&l_run)[2], float (&corr)[2],
                                                    uint32_t (&pf)[kWgKeys / 16][4]) {
  const bool needs_mask = kt + kWgKeys - 1 > c.wg_first_pos || kt + kWgKeys > c.key_count;
  if (needs_mask) {
    for (int j = 0; j < kWgKeys / 8; ++j) {
      for (int e = 0; e < 4; ++e) {
        const long long key = kt + 8 * j + 2 * (c.lane % 4) + (e & 1);
        const long long pos = e < 2 ? c.pos_lo : c.pos_hi;
        if (key > pos || key >= c.key_count) s_acc[4 * j + e] = -INFINITY;
      }
    }
  }
  // Row maxima as trees (depth 5 over a row's 32 values, not a 32-long chain): a scheduler has
  // only one or two consumer warps to issue from, so the softmax's dependent chains, not the
  // instruction count, set its length (bench/results/attention-parts-and-prefill-h200-ac7d2c0.md).
  static_assert(kWgKeys == 128, "the trees below are written for 16 column pairs a row");
  float part[2][16];
  for (int j = 0; j < 16; ++j) {
    part[0][j] = fmaxf(s_acc[4 * j + 0], s_acc[4 * j + 1]);
    part[1][j] = fmaxf(s_acc[4 * j + 2], s_acc[4 * j + 3]);
  }
  for (int w = 8; w >= 1; w /= 2) {
    for (int j = 0; j < w; ++j) {
      part[0][j] = fmaxf(part[0][j], part[0][j + w]);
      part[1][j] = fmaxf(part[1][j], part[1][j + w]);
    }
  }
  float tile_max[2] = {part[0][0], part[1][0]};
  float neg_base[2];
  for (int r = 0; r < 2; ++r) {
    tile_max[r] = fmaxf(tile_max[r], __shfl_xor_sync(0xffffffffu, tile_max[r], 1));
    tile_max[r] = fmaxf(tile_max[r], __shfl_xor_sync(0xffffffffu, tile_max[r], 2));
    const float m_new = fmaxf(m_run[r], tile_max[r] * c.scale_log2);
    corr[r] = m_run[r] == -INFINITY ? 0.f : fast_exp2(m_run[r] - m_new);
    m_run[r] = m_new;
    neg_base[r] = m_new == -INFINITY ? 0.f : -m_new;
  }
  // The probabilities, and their row sums as trees too (reusing part[][] for the pair sums).
  for (int kk = 0; kk < kWgKeys / 16; ++kk) {
    float e[8];
    for (int u = 0; u < 4; ++u) {
      e[u] = fast_exp2(fmaf(s_acc[8 * kk + u], c.scale_log2, neg_base[u / 2]));
      e[4 + u] = fast_exp2(fmaf(s_acc[8 * kk + 4 + u], c.scale_log2, neg_base[u / 2]));
    }
    part[0][2 * kk] = e[0] + e[1];
    part[0][2 * kk + 1] = e[4] + e[5];
    part[1][2 * kk] = e[2] + e[3];
    part[1][2 * kk + 1] = e[6] + e[7];
    pf[kk][0] = pack_bf16(e[0], e[1]);
    pf[kk][1] = pack_bf16(e[2], e[3]);
    pf[kk][2] = pack_bf16(e[4], e[5]);
    pf[kk][3] = pack_bf16(e[6], e[7]);
  }
  for (int w = 8; w >= 1; w /= 2) {
    for (int j = 0; j < w; ++j) {
      part[0][j] += part[0][j + w];
      part[1][j] += part[1][j + w];
    }
  }
  for (int r = 0; r < 2; ++r) l_run[r] = l_run[r] * corr[r] + part[r][0];
}

// O *= corr, row by row (the accumulator layout: elements 0, 1 of a quad are row r_lo, 2, 3 r_lo + 8).
__device__ __forceinline__ void rescale_output(float (&o)[64], const float (&corr)[2]) {
  for (int j = 0; j < kWgHeadDim / 8; ++j) {
    o[4 * j + 0] *= corr[0];
    o[4 * j + 1] *= corr[0];
    o[4 * j + 2] *= corr[1];
    o[4 * j + 3] *= corr[1];
  }
}

#endif  // __CUDA_ARCH_FEAT_SM90_ALL

#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
// For WgmmaLeaveOut::softmax: S to bf16 as it is, in the A-operand layout online_softmax_tile writes.
__device__ __forceinline__ void scores_as_probabilities(const float (&s_acc)[64], uint32_t (&pf)[kWgKeys / 16][4]) {
  for (int kk = 0; kk < kWgKeys / 16; ++kk) {
    pf[kk][0] = pack_bf16(s_acc[8 * kk + 0], s_acc[8 * kk + 1]);
    pf[kk][1] = pack_bf16(s_acc[8 * kk + 2], s_acc[8 * kk + 3]);
    pf[kk][2] = pack_bf16(s_acc[8 * kk + 4], s_acc[8 * kk + 5]);
    pf[kk][3] = pack_bf16(s_acc[8 * kk + 6], s_acc[8 * kk + 7]);
  }
}
#endif

// k_map / v_map: 2-D maps over the visible keys of the cache ([keys][kv_heads * 128], boxes of
// 64 dims x 128 keys, 128-byte swizzle). kLeaveOut: WgmmaLeaveOut::nothing in production; the
// other values only time the stages (attention_parts.h).
template <WgmmaLeaveOut kLeaveOut>
__global__ void __launch_bounds__(kTmaThreads, 1)
    wgmma_tma_attention_kernel(AttentionParams<__nv_bfloat16> p, const __grid_constant__ CUtensorMap k_map,
                               const __grid_constant__ CUtensorMap v_map) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  extern __shared__ __align__(1024) unsigned char tma_smem_raw[];
  const uint32_t raw = static_cast<uint32_t>(__cvta_generic_to_shared(tma_smem_raw));
  WgmmaTmaSmem& sm = *reinterpret_cast<WgmmaTmaSmem*>(tma_smem_raw + ((1024 - (raw & 1023)) & 1023));

  constexpr int HD = kWgHeadDim;
  // 0 and 1 consumers, 2 producer; broadcast from lane 0 so the compiler knows it is uniform
  // across the warp (else it serializes the wgmma instructions on the consumer path).
  const int role = __shfl_sync(0xffffffffu, static_cast<int>(threadIdx.x / 128), 0);
  const int h = blockIdx.x, kvh = h / (p.heads / p.kv_heads);
  const int q0 = (gridDim.y - 1 - blockIdx.y) * kWgRows;  // later (longer) query blocks first
  const long long key_count = p.first_position + min(p.rows, q0 + kWgRows);
  const int tiles = static_cast<int>((key_count + kWgKeys - 1) / kWgKeys);

  init_stage_barriers<kTmaStages>(sm);
  if (role == 2) return produce_kv_tiles<kTmaStages>(sm, &k_map, &v_map, kvh, tiles);
  asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;\n" ::"n"(kConsumerRegisters));
  const int wg = role, warp = (threadIdx.x / 32) % 4, lane = threadIdx.x % 32;
  const int r_lo = q0 + wg * 64 + warp * 16 + lane / 4;  // this thread's rows: r_lo and r_lo + 8
  const long long wg_first_pos = p.first_position + q0 + wg * 64, wg_last_pos = wg_first_pos + 63;
  const ConsumerRows rows{p.first_position + r_lo, p.first_position + r_lo + 8, wg_first_pos, key_count, lane,
                          rsqrtf(static_cast<float>(HD)) * 1.4426950408889634f};
  load_query_rows(sm, p, wg, q0, h);

  float o[64];
  for (int i = 0; i < 64; ++i) o[i] = 0.f;
  float m_run[2] = {-INFINITY, -INFINITY}, l_run[2] = {0.f, 0.f}, corr[2];
  const int my_turn = 1 + wg, other_turn = 2 - wg;
  if (wg == 1) named_arrive(other_turn);  // consumer 0 issues first

  for (int t = 0; t < tiles; ++t) {
    const int s = t % kTmaStages;
    const long long kt = static_cast<long long>(t) * kWgKeys;
    mbar_wait(&sm.full[s], (t / kTmaStages) & 1);
    const bool active = kt <= wg_last_pos;  // else every key of the tile is in this warpgroup's future

    float s_acc[64];
    for (int i = 0; i < 64; ++i) s_acc[i] = 0.f;
    named_sync(my_turn);
    if (active) {
      wg_pin(o);
      wg_fence();
      if constexpr (kLeaveOut != WgmmaLeaveOut::scores_gemm) {
        for (int kk = 0; kk < HD / 16; ++kk) {
          const uint64_t desc_q = wg_desc(&sm.q[wg][kk / 4][(kk % 4) * 32], 16, 1024);
          const uint64_t desc_k = wg_desc(&sm.k[s][kk / 4][(kk % 4) * 32], 16, 1024);
          wg_mma_ss_m64n128k16(s_acc, desc_q, desc_k, kk > 0);
        }
      }
      wg_commit();
    }
    named_arrive(other_turn);
    if (active) {
      wg_wait_all();
      wg_pin(s_acc);  // also makes the scores opaque where their product was left out
      uint32_t pf[kWgKeys / 16][4];
      if constexpr (kLeaveOut == WgmmaLeaveOut::softmax) {
        scores_as_probabilities(s_acc, pf);
      } else {
        online_softmax_tile(s_acc, kt, rows, m_run, l_run, corr, pf);
        rescale_output(o, corr);
      }
      wg_pin(o);
      wg_fence();
      if constexpr (kLeaveOut != WgmmaLeaveOut::pv_gemm) {
        for (int kk = 0; kk < kWgKeys / 16; ++kk) {
          const uint64_t desc = wg_desc(&sm.v[s][0][kk * 2048], kWgBlockBytes, 1024);
          wg_mma_m64n128k16<1>(o, pf[kk], desc, true);
        }
      } else {
        uint32_t keep = 0;  // P stays live, so the softmax that makes it is not optimized away
        for (int kk = 0; kk < kWgKeys / 16; ++kk) keep ^= pf[kk][0] ^ pf[kk][1] ^ pf[kk][2] ^ pf[kk][3];
        o[0] += __uint_as_float(keep & 0x007fffffu);  // a denormal at most: O is not the point here
      }
      wg_commit();
      wg_wait_all();
      wg_pin(o);
    }
    mbar_arrive(&sm.empty[s]);  // this thread is done reading the stage
  }
  if (wg == 0) named_sync(my_turn);  // take consumer 1's last hand-over, so no barrier is left half-arrived

  store_output_rows<HD>(p, h, r_lo, lane, l_run, [&](int j, int e) { return o[4 * j + e]; });
#else
  (void)p;
  (void)k_map;
  (void)v_map;
#endif
}

}  // namespace hd::attention_detail
