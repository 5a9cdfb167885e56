#pragma once
// Where the Hopper wgmma attention kernel's time goes, without hardware counters: the same kernel
// with one stage left out, for bench_attention only (their outputs are wrong by design). The time
// a stage costs is the whole kernel's time minus the variant's; what the stages cost together
// beyond their sum is what they fail to overlap.
#include <cuda_bf16.h>
#include <cuda_runtime_api.h>

#include "hd/kernels/attention.h"

namespace hd {

enum class WgmmaLeaveOut {
  nothing,      // the production kernel (AttentionKernel::wgmma)
  scores_gemm,  // S = Q K^T not issued: the softmax runs on zeroed registers the compiler cannot see through
  softmax,      // no mask, max, exponentials or rescale: S goes to P V as it is
  pv_gemm,      // O += P V not issued (P is still computed and kept live)
};

// Throws where attention_wgmma_available() is false or head_dim is not 128, as causal_attention.
void wgmma_attention_leaving_out(const AttentionParams<__nv_bfloat16>& p, cudaStream_t stream, WgmmaLeaveOut part);

}  // namespace hd
