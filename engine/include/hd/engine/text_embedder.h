#pragma once
// Sentence embeddings with a BERT encoder of our own (all-MiniLM-L6-v2: 6 layers, 384 wide,
// 12 heads), as sentence-transformers computes them: WordPiece ids truncated to the model's
// max_seq_length, the encoder, mean pooling over tokens, L2 normalization. Float32 on the CPU
// (BLAS + OpenMP) or on the GPU (cuBLAS without TF32 + our kernels). A batch's token rows go
// through each linear layer as one matrix product.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "hd/engine/wordpiece.h"

namespace hd {

// automatic: the GPU when one is usable, else the CPU.
enum class EmbedderDevice { cpu, cuda, automatic };

class TextEmbedder {
 public:
  // `dir` is the sentence-transformers folder: config.json, vocab.txt, model.safetensors and
  // (optional) sentence_bert_config.json for max_seq_length. Every missing file, key or tensor and
  // every wrong shape is an EmbedderError naming the file.
  static std::unique_ptr<TextEmbedder> open(const std::filesystem::path& dir, EmbedderDevice device = EmbedderDevice::cpu);
  ~TextEmbedder();

  int dimension() const;
  std::size_t max_tokens() const;
  const WordPieceTokenizer& tokenizer() const;
  // Names the model and its weights (folder name and a hash of model.safetensors): vectors from
  // two different ids must never be mixed in one index.
  const std::string& model_id() const;
  const char* device_name() const;  // "cpu" or "cuda"

  // One L2-normalized row of dimension() floats per text, row-major. Empty text embeds [CLS][SEP].
  std::vector<float> embed(const std::vector<std::string>& texts) const;
  // The same from token ids (each sequence starting with [CLS] and ending with [SEP]).
  std::vector<float> embed_ids(const std::vector<std::vector<std::int32_t>>& ids) const;

 private:
  struct Impl;
  explicit TextEmbedder(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace hd
