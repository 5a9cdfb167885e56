#pragma once
// The FAISS index over the chunk vectors, kept consistent with SQLite across crashes.
//
// SQLite is the source of truth: a chunk's vector is written in the same transaction as the
// chunk, and every insert or delete bumps the store's vectors_version (a new vector is stamped
// with the version it made, its seq). The index is a cache of those vectors on disk:
//   save:  write vectors-<generation+1>.faiss.tmp, fsync, rename to vectors-<generation+1>.faiss,
//          fsync the folder, then record (file, generation, built_from_version) in SQLite, then
//          delete the older files. A crash before the record leaves the old generation recorded and
//          the new file an orphan (deleted by the next save); after it, the new file is complete.
//   open:  load the recorded file when it exists, was made by the same model and reads back;
//          then catch up with the store: drop ids whose vectors are gone, add vectors with
//          seq > built_from_version (replacing ids that were re-created). A missing, damaged or
//          foreign file, or a count that still disagrees, means a rebuild from the stored vectors.
// Inner-product search (vectors are unit length, so scores are cosines): exact below
// VectorIndexOptions::ivf_threshold vectors, past it an inverted-file index (IVF, k-means cells,
// 16 probed per query). bench_ingest_search on the 2-core machine: exact search takes 1.7 ms at
// 10k vectors and 16 ms at 100k, half of what full-text search takes at that size (32 ms), so
// exact search stays the cheaper half of a hybrid query up to about 200k vectors; IVF takes
// 0.5 ms at 100k but found only 8% of the exact top 10 on random vectors (its worst case), so
// it only serves stores past that size.
#include <memory>
#include <string>
#include <vector>

#include "hd/retrieval/store.h"

namespace faiss {
struct Index;
}

namespace hd {

struct VectorMatch {
  long long chunk_id = 0;
  float score = 0;  // cosine similarity
};

struct VectorIndexOptions {
  long long ivf_threshold = 200'000;  // exact search below, IVF from here on
  int ivf_probes = 16;
};

class VectorIndex {
 public:
  static std::unique_ptr<VectorIndex> open(Store& store, const std::string& model_id, int dimension,
                                           const VectorIndexOptions& options = {});
  ~VectorIndex();

  // Catches up with vectors stored since the last refresh (another process may be ingesting).
  void refresh();
  // Writes the index as a new generation (protocol above), unless the recorded file already
  // holds these vectors. Only the process that writes the store (ingest) saves.
  void save();

  std::vector<VectorMatch> search(const float* query, int k) const;
  long long size() const;
  std::vector<long long> ids() const;  // ascending
  // Why open() rebuilt from the stored vectors ("" when the file was usable).
  const std::string& rebuild_reason() const { return rebuild_reason_; }
  long long applied_version() const { return applied_version_; }
  bool approximate() const;  // true for the IVF index

 private:
  VectorIndex(Store& store, std::string model_id, int dimension, const VectorIndexOptions& options);
  void reset_empty();
  void rebuild_as_ivf();  // from the vectors the exact index holds
  Store& store_;
  std::string model_id_;
  int dimension_ = 0;
  VectorIndexOptions options_;
  std::unique_ptr<faiss::Index> index_;  // an IndexIDMap2 over IndexFlatIP, or an IndexIVFFlat
  long long applied_version_ = 0;
  std::string rebuild_reason_;
};

}  // namespace hd
