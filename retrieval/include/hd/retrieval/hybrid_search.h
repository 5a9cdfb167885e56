#pragma once
// Hybrid search: BM25 over the chunk text (FTS5) and cosine similarity of the query's embedding
// to the chunk vectors (FAISS, or exact over one document's vectors when filtered), fused by
// reciprocal rank: score = sum over the two lists of 1 / (60 + rank). Either list alone works:
// without an embedder or vectors, search is full-text only.
#include <optional>
#include <string>
#include <vector>

#include "hd/engine/text_embedder.h"
#include "hd/retrieval/store.h"
#include "hd/retrieval/vector_index.h"

namespace hd {

struct HybridHit {
  SearchHit chunk;      // chunk.score is the fused score (higher is better)
  int text_rank = 0;    // 1-based rank in the BM25 list, 0 when absent from it
  int vector_rank = 0;  // 1-based rank in the vector list, 0 when absent from it
  float cosine = 0;     // when vector_rank > 0
};

struct HybridOptions {
  int k = 10;
  int candidates = 50;                     // taken from each list before fusing
  std::optional<long long> document_id;   // search inside one document only
  static constexpr double kRrfK = 60;      // the usual constant of reciprocal rank fusion
};

// `index` and `embedder` may be null (full-text only).
std::vector<HybridHit> hybrid_search(const Store& store, const VectorIndex* index, const TextEmbedder* embedder,
                                     const std::string& query, const HybridOptions& options);

}  // namespace hd
