#pragma once
// Warpgroup MMA (wgmma, sm_90a) building blocks of the Hopper attention kernel
// (attention_wgmma_tma.cuh): shared-memory matrix descriptors, the m64n128k16 bf16 MMA with A in
// registers or shared memory, fences, and the tile layout. A block's consumer warpgroups own 64 query rows each and
// walk the keys in tiles of 128; Q and the probabilities P stay in registers as the A operand.
// Head dim 128 only (the 7B model's).
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

#include "attention_fa2.cuh"  // pack_bf16
#include "hd/kernels/attention.h"

namespace hd::attention_detail {

constexpr int kWgRows = 128, kWgKeys = 128, kWgHeadDim = 128;
constexpr int kWgBlockBytes = kWgKeys * 128;  // one [keys][64 dims] block

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
// The same with A (64 x 16) from shared memory through a descriptor, K-major.
__device__ __forceinline__ void wg_mma_ss_m64n128k16(float (&d)[64], uint64_t desc_a, uint64_t desc_b, bool accumulate) {
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 "
      "{%0,%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13,%14,%15,"
      "%16,%17,%18,%19,%20,%21,%22,%23,%24,%25,%26,%27,%28,%29,%30,%31,"
      "%32,%33,%34,%35,%36,%37,%38,%39,%40,%41,%42,%43,%44,%45,%46,%47,"
      "%48,%49,%50,%51,%52,%53,%54,%55,%56,%57,%58,%59,%60,%61,%62,%63}, "
      "%64, %65, p, 1, 1, 0, 0;\n}\n"
      : HD_WG_ACC16(0), HD_WG_ACC16(16), HD_WG_ACC16(32), HD_WG_ACC16(48)
      : "l"(desc_a), "l"(desc_b), "r"(static_cast<int>(accumulate)));
}
#undef HD_WG_ACC16

// 2^x on the special function unit, flushing denormal results to zero (probabilities that small
// vanish in bf16 anyway); exp2f adds range fix-ups this loop does not need.
__device__ __forceinline__ float fast_exp2(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(x));
  return y;
}

#endif  // __CUDA_ARCH_FEAT_SM90_ALL

}  // namespace hd::attention_detail
