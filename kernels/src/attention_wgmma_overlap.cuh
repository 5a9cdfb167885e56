#pragma once
// The Hopper attention kernel of attention_wgmma_tma.cuh plus FlashAttention-3's intra-warpgroup
// overlap (Shah et al. 2024, section 3.2, written from the paper): a consumer issues S = Q K^T of
// tile t and O += P V of tile t-1 together, waits for S only, and runs tile t's softmax while the
// tensor cores still work on P V. The two consumers keep taking turns to issue (ping-pong), so one's
// softmax also hides under the other's GEMMs.
//
// Costs: P of tile t-1 (the A operand of the P V in flight) and P of tile t live at once, 64 more
// registers; a stage is released one tile later, so the K/V ring has three stages (two would leave
// the producer nothing to prefetch into while both are held).
//
// The automatic choice on Hopper since b9a0492 (696 against 609 TFLOP/s for AttentionKernel::wgmma
// at 32k, bench/results/attention-fa3-speed-and-peers-h200-b9a0492.md); bench_attention still
// runs both in the same run.
#include <cuda.h>
#include <cuda_bf16.h>

#include <cstdint>

#include "attention_wgmma_tma.cuh"

namespace hd::attention_detail {

constexpr int kOverlapStages = 3;

struct alignas(1024) WgmmaOverlapSmem {
  unsigned char q[2][2][64 * 128];  // [consumer][dim block][64 rows x 128 bytes], swizzled like K
  unsigned char k[kOverlapStages][2][kWgBlockBytes];
  unsigned char v[kOverlapStages][2][kWgBlockBytes];
  uint64_t full[kOverlapStages];
  uint64_t empty[kOverlapStages];
};

#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
// Waits until at most N committed wgmma groups of this warpgroup are pending (groups complete in
// the order they were committed).
template <int N>
__device__ __forceinline__ void wg_wait() {
  asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(N) : "memory");
}
// The P V in flight reads P from registers: an empty asm that "uses" P after the wait keeps the
// compiler from giving P's registers to the next tile's probabilities while it runs (ptxas would
// then serialize the wgmmas, C7513).
__device__ __forceinline__ void wg_keep(uint32_t (&a)[kWgKeys / 16][4]) {
  for (int kk = 0; kk < kWgKeys / 16; ++kk) {
    for (int u = 0; u < 4; ++u) asm volatile("" : "+r"(a[kk][u])::"memory");
  }
}
#endif

__global__ void __launch_bounds__(kTmaThreads, 1)
    wgmma_overlap_attention_kernel(AttentionParams<__nv_bfloat16> p, const __grid_constant__ CUtensorMap k_map,
                                   const __grid_constant__ CUtensorMap v_map) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  extern __shared__ __align__(1024) unsigned char overlap_smem_raw[];
  const uint32_t raw = static_cast<uint32_t>(__cvta_generic_to_shared(overlap_smem_raw));
  WgmmaOverlapSmem& sm = *reinterpret_cast<WgmmaOverlapSmem*>(overlap_smem_raw + ((1024 - (raw & 1023)) & 1023));

  constexpr int HD = kWgHeadDim, S = kOverlapStages;
  const int role = __shfl_sync(0xffffffffu, static_cast<int>(threadIdx.x / 128), 0);  // 0, 1 consumers; 2 producer
  const int h = blockIdx.x, kvh = h / (p.heads / p.kv_heads);
  const int q0 = (gridDim.y - 1 - blockIdx.y) * kWgRows;  // later (longer) query blocks first
  const long long key_count = p.first_position + min(p.rows, q0 + kWgRows);
  const int tiles = static_cast<int>((key_count + kWgKeys - 1) / kWgKeys);

  init_stage_barriers<S>(sm);
  if (role == 2) return produce_kv_tiles<S>(sm, &k_map, &v_map, kvh, tiles);
  asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;\n" ::"n"(kConsumerRegisters));
  const int wg = role, warp = (threadIdx.x / 32) % 4, lane = threadIdx.x % 32;
  const int r_lo = q0 + wg * 64 + warp * 16 + lane / 4;  // this thread's rows: r_lo and r_lo + 8
  const long long wg_first_pos = p.first_position + q0 + wg * 64, wg_last_pos = wg_first_pos + 63;
  const ConsumerRows rows{p.first_position + r_lo, p.first_position + r_lo + 8, wg_first_pos, key_count, lane,
                          rsqrtf(static_cast<float>(HD)) * 1.4426950408889634f};
  // Tiles with a key this warpgroup may see; the ones after it (at most the last, when a chunk
  // does not start on a tile boundary) are only released.
  const int my_tiles = static_cast<int>(min(static_cast<long long>(tiles), wg_last_pos / kWgKeys + 1));
  load_query_rows(sm, p, wg, q0, h);

  float o[64];
  for (int i = 0; i < 64; ++i) o[i] = 0.f;
  float s_acc[64];
  uint32_t pf[kWgKeys / 16][4], pf_next[kWgKeys / 16][4];
  float m_run[2] = {-INFINITY, -INFINITY}, l_run[2] = {0.f, 0.f}, corr[2] = {0.f, 0.f};
  const int my_turn = 1 + wg, other_turn = 2 - wg;
  if (wg == 1) named_arrive(other_turn);  // consumer 0 issues first

  auto issue_qk = [&](int s) {
    for (int kk = 0; kk < HD / 16; ++kk) {
      const uint64_t desc_q = wg_desc(&sm.q[wg][kk / 4][(kk % 4) * 32], 16, 1024);
      const uint64_t desc_k = wg_desc(&sm.k[s][kk / 4][(kk % 4) * 32], 16, 1024);
      wg_mma_ss_m64n128k16(s_acc, desc_q, desc_k, kk > 0);
    }
    wg_commit();
  };
  auto issue_pv = [&](int s) {
    for (int kk = 0; kk < kWgKeys / 16; ++kk) {
      const uint64_t desc = wg_desc(&sm.v[s][0][kk * 2048], kWgBlockBytes, 1024);
      wg_mma_m64n128k16<1>(o, pf[kk], desc, true);
    }
    wg_commit();
  };
  auto take_next_p = [&] {
    for (int kk = 0; kk < kWgKeys / 16; ++kk) {
      for (int u = 0; u < 4; ++u) pf[kk][u] = pf_next[kk][u];
    }
  };

  {  // my_tiles >= 1: wg_last_pos >= 63 and the first tile starts at key 0
    // Tile 0: S alone (there is no P V before it).
    mbar_wait(&sm.full[0], 0);
    for (int i = 0; i < 64; ++i) s_acc[i] = 0.f;
    named_sync(my_turn);
    wg_fence();
    issue_qk(0);
    named_arrive(other_turn);
    wg_wait<0>();
    wg_pin(s_acc);
    online_softmax_tile(s_acc, 0, rows, m_run, l_run, corr, pf_next);  // O is zero: nothing to rescale
    take_next_p();

    for (int t = 1; t < my_tiles; ++t) {
      const int s = t % S, prev = (t - 1) % S;
      mbar_wait(&sm.full[s], (t / S) & 1);
      for (int i = 0; i < 64; ++i) s_acc[i] = 0.f;
      named_sync(my_turn);
      wg_pin(o);
      wg_fence();
      issue_qk(s);  // S of tile t ...
      // ... O rescaled for tile t-1's maximum while the tensor cores run it (FlashAttention-3's
      // place for it: off the path between P V's end and the next turn) ...
      rescale_output(o, corr);
      wg_pin(o);
      wg_fence();
      issue_pv(prev);  // ... and P V of tile t-1
      named_arrive(other_turn);
      wg_wait<1>();  // S is ready; P V may still run
      wg_pin(s_acc);
      online_softmax_tile(s_acc, static_cast<long long>(t) * kWgKeys, rows, m_run, l_run, corr, pf_next);
      wg_wait<0>();
      wg_keep(pf);
      wg_pin(o);
      mbar_arrive(&sm.empty[prev]);  // stage t-1 is read to the end
      take_next_p();
    }

    // The last tile's P V.
    named_sync(my_turn);
    wg_pin(o);
    rescale_output(o, corr);
    wg_pin(o);
    wg_fence();
    issue_pv((my_tiles - 1) % S);
    named_arrive(other_turn);
    wg_wait<0>();
    wg_pin(o);
    mbar_arrive(&sm.empty[(my_tiles - 1) % S]);
  }
  // Tiles wholly in this warpgroup's future: wait until each is loaded (its stage's earlier lap is
  // then released by both consumers), release it, and keep taking turns so both consumers pass the
  // turn barriers the same number of times (tiles + 1).
  for (int t = my_tiles; t < tiles; ++t) {
    mbar_wait(&sm.full[t % S], (t / S) & 1);
    mbar_arrive(&sm.empty[t % S]);
    named_sync(my_turn);
    named_arrive(other_turn);
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
