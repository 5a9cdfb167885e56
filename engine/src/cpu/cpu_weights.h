#pragma once
// Model weights as float32 host arrays, converted once from the checkpoint's bf16/f16/f32.
#include <complex>
#include <vector>

#include "hd/engine/checkpoint.h"

namespace hd::cpu {

struct Linear {
  int in = 0, out = 0;
  std::vector<float> weight;  // [out, in], row-major (torch.nn.Linear layout)
  std::vector<float> bias;    // [out] or empty
};

struct BlockWeights {
  BlockKind kind = BlockKind::hyena;
  std::vector<float> pre_norm, post_norm;  // [D]
  Linear mlp_l1, mlp_l2, mlp_l3;
  // attention
  Linear wqkv, out_proj;
  // Hyena
  Linear projections, out_dense;
  std::vector<float> fir_weight;                 // [3D, taps]; the last tap multiplies the current input
  std::vector<float> fir_bias;                   // [3D] or empty
  std::vector<std::complex<float>> poles;        // [D, state_size]
  std::vector<std::complex<float>> residues;     // [D, state_size]
  std::vector<float> skip;                       // D: [D]
};

struct ModelWeights {
  std::vector<float> embedding;  // [vocab, D]
  std::vector<float> unembed;    // [vocab, D]; empty when tied to the embedding
  std::vector<float> final_norm; // [D] or empty
  std::vector<BlockWeights> blocks;

  static ModelWeights from_checkpoint(const Checkpoint& checkpoint);
  const std::vector<float>& output_embedding() const { return unembed.empty() ? embedding : unembed; }
};

}  // namespace hd::cpu
