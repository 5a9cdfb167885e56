#pragma once
// The BERT encoder's weights on the host, float32, as TextEmbedder loads them; the CPU path
// computes with them and the CUDA path uploads them.
#include <vector>

namespace hd::embed {

struct Linear {
  std::vector<float> weight;  // [out, in]
  std::vector<float> bias;    // [out]
  int in = 0, out = 0;
};

struct Norm {
  std::vector<float> gain, bias;
};

struct Layer {
  Linear query, key, value, attn_out, inter, out;
  Norm attn_norm, out_norm;
};

struct BertWeights {
  int hidden = 0, heads = 0, inter = 0, max_positions = 0, vocab = 0;
  float eps = 1e-12f;
  std::vector<float> word_emb, pos_emb, type_emb;
  Norm emb_norm;
  std::vector<Layer> layers;
};

}  // namespace hd::embed
