#pragma once
// The BERT encoder on the GPU: cuBLAS float32 GEMMs (no TF32, so results stay within float32
// rounding of the CPU path) and the kernels of hd/kernels/bert_ops.h. One batch is packed
// without padding. Built only with CUDA.
#include <cstdint>
#include <memory>
#include <vector>

#include "bert_weights.h"

namespace hd::embed {

class CudaBertEncoder {
 public:
  explicit CudaBertEncoder(const BertWeights& w);
  ~CudaBertEncoder();
  // One L2-normalized row of hidden floats per sequence.
  std::vector<float> encode(const std::vector<std::vector<std::int32_t>>& ids);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hd::embed
