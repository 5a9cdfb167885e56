#include "hd/retrieval/hybrid_search.h"

#include <algorithm>
#include <map>

namespace hd {
namespace {

std::vector<VectorMatch> vector_candidates(const Store& store, const VectorIndex* index, const std::vector<float>& q,
                                           const HybridOptions& options) {
  if (!options.document_id) return index ? index->search(q.data(), options.candidates) : std::vector<VectorMatch>{};
  // Inside one document: exact cosine over its stored vectors (few, and no index filter needed).
  std::vector<VectorMatch> all;
  for (const auto& [id, v] : store.document_vectors(*options.document_id)) {
    if (v.size() != q.size()) continue;
    float dot = 0;
    for (std::size_t i = 0; i < q.size(); ++i) dot += q[i] * v[i];
    all.push_back({id, dot});
  }
  std::sort(all.begin(), all.end(), [](const VectorMatch& a, const VectorMatch& b) { return a.score > b.score; });
  if (all.size() > static_cast<std::size_t>(options.candidates)) all.resize(static_cast<std::size_t>(options.candidates));
  return all;
}

}  // namespace

std::vector<HybridHit> hybrid_search(const Store& store, const VectorIndex* index, const TextEmbedder* embedder,
                                     const std::string& query, const HybridOptions& options) {
  std::map<long long, HybridHit> fused;
  const std::vector<SearchHit> text = store.search_text(query, options.candidates, options.document_id);
  for (std::size_t r = 0; r < text.size(); ++r) {
    HybridHit& h = fused[text[r].chunk_id];
    h.chunk = text[r];
    h.text_rank = static_cast<int>(r + 1);
    h.chunk.score = 1.0 / (HybridOptions::kRrfK + static_cast<double>(r + 1));
  }
  if (embedder && (index || options.document_id)) {
    const std::vector<float> q = embedder->embed({query});
    const std::vector<VectorMatch> near = vector_candidates(store, index, q, options);
    std::vector<long long> missing;
    for (std::size_t r = 0; r < near.size(); ++r) {
      HybridHit& h = fused[near[r].chunk_id];
      h.vector_rank = static_cast<int>(r + 1);
      h.cosine = near[r].score;
      if (h.text_rank == 0) missing.push_back(near[r].chunk_id);
    }
    for (SearchHit& c : store.chunks_by_id(missing)) fused[c.chunk_id].chunk = std::move(c);
  }
  std::vector<HybridHit> out;
  for (auto& [id, h] : fused) {
    if (h.chunk.chunk_id == 0) continue;  // a vector whose chunk vanished meanwhile
    h.chunk.score = (h.text_rank ? 1.0 / (HybridOptions::kRrfK + h.text_rank) : 0.0) +
                    (h.vector_rank ? 1.0 / (HybridOptions::kRrfK + h.vector_rank) : 0.0);
    out.push_back(std::move(h));
  }
  std::sort(out.begin(), out.end(), [](const HybridHit& a, const HybridHit& b) {
    if (a.chunk.score != b.chunk.score) return a.chunk.score > b.chunk.score;
    return a.chunk.chunk_id < b.chunk.chunk_id;
  });
  if (out.size() > static_cast<std::size_t>(std::max(0, options.k))) out.resize(static_cast<std::size_t>(std::max(0, options.k)));
  return out;
}

}  // namespace hd
