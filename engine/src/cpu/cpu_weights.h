#pragma once
// Model weights as host arrays. Matrices stored in bf16 stay bf16 (half the memory, half the bytes
// a decode step reads; converted to float32 as they are used, so every sum still runs in float32);
// everything else is float32, converted once from the checkpoint's bf16/f16/f32.
#include <complex>
#include <cstdint>
#include <vector>

#include "hd/engine/checkpoint.h"

namespace hd::cpu {

// A weight matrix [rows, cols], row-major (torch.nn.Linear layout), as float32 or bf16.
struct Matrix {
  int rows = 0, cols = 0;
  std::vector<float> f32;           // used when the checkpoint stores float32 or f16
  std::vector<std::uint16_t> bf16;  // used when it stores bf16

  static Matrix from(const TensorView& t);
  // Row r as float32 into dst[cols].
  void row(int r, float* dst) const;
};

struct Linear {
  int in = 0, out = 0;
  Matrix weight;            // [out, in]
  std::vector<float> bias;  // [out] or empty
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
  Matrix embedding;  // [vocab, D]
  Matrix unembed;    // [vocab, D]; empty (rows == 0) when tied to the embedding
  std::vector<float> final_norm; // [D] or empty
  std::vector<BlockWeights> blocks;

  static ModelWeights from_checkpoint(const Checkpoint& checkpoint);
  const Matrix& output_embedding() const { return unembed.rows == 0 ? embedding : unembed; }
};

}  // namespace hd::cpu
