#include "hd/retrieval/vector_index.h"

#include <faiss/IndexFlat.h>
#include <faiss/IndexIDMap.h>
#include <faiss/impl/FaissException.h>
#include <faiss/impl/IDSelector.h>
#include <faiss/index_io.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <unordered_set>

namespace hd {
namespace {

void fsync_path(const std::filesystem::path& p, bool directory) {
  const int fd = ::open(p.c_str(), directory ? O_RDONLY | O_DIRECTORY : O_RDONLY);
  if (fd < 0) throw StoreError(p.string() + ": cannot open to fsync");
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) throw StoreError(p.string() + ": fsync failed");
}

faiss::IndexIDMap2& as_map(const std::unique_ptr<faiss::Index>& index) { return static_cast<faiss::IndexIDMap2&>(*index); }

bool is_index_file(const std::filesystem::path& p) {
  const std::string name = p.filename().string();
  return name.rfind("vectors-", 0) == 0 && (name.find(".faiss") != std::string::npos);
}

}  // namespace

VectorIndex::VectorIndex(Store& store, std::string model_id, int dimension)
    : store_(store), model_id_(std::move(model_id)), dimension_(dimension) {}
VectorIndex::~VectorIndex() = default;

void VectorIndex::reset_empty() {
  auto map = std::make_unique<faiss::IndexIDMap2>(new faiss::IndexFlatIP(dimension_));
  map->own_fields = true;
  index_ = std::move(map);
  applied_version_ = 0;
}

std::unique_ptr<VectorIndex> VectorIndex::open(Store& store, const std::string& model_id, int dimension) {
  for (const std::string& m : store.vector_models()) {
    if (m != model_id) {
      throw StoreError(store.database_path().string() + ": the store holds vectors of the embedding model \"" + m +
                       "\", not \"" + model_id + "\"; re-ingest into a new store to change models");
    }
  }
  std::unique_ptr<VectorIndex> vi(new VectorIndex(store, model_id, dimension));
  const auto rec = store.vector_index_record();
  if (!rec) {
    // A first build (also after a crash before the first save): not a rebuild.
  } else if (rec->model_id != model_id || rec->dimension != dimension) {
    vi->rebuild_reason_ = "the recorded index was made by another model";
  } else if (!std::filesystem::exists(store.dir() / rec->file)) {
    vi->rebuild_reason_ = "the index file " + rec->file + " is missing";
  } else {
    try {
      std::unique_ptr<faiss::Index> loaded(faiss::read_index((store.dir() / rec->file).c_str()));
      auto* map = dynamic_cast<faiss::IndexIDMap2*>(loaded.get());
      if (!map || map->d != dimension) {
        vi->rebuild_reason_ = "the index file " + rec->file + " is not an id-mapped index of dimension " + std::to_string(dimension);
      } else {
        loaded.release();
        vi->index_.reset(map);
        vi->applied_version_ = rec->built_from_version;
      }
    } catch (const faiss::FaissException& e) {
      vi->rebuild_reason_ = "the index file " + rec->file + " cannot be read (" + std::string(e.what()).substr(0, 120) + ")";
    }
  }
  if (!vi->index_) vi->reset_empty();
  vi->refresh();
  if (vi->size() != store.vector_count()) {  // should not happen; never serve a disagreeing index
    vi->rebuild_reason_ = "the index held " + std::to_string(vi->size()) + " vectors, the store " +
                          std::to_string(store.vector_count());
    vi->reset_empty();
    vi->refresh();
  }
  return vi;
}

void VectorIndex::refresh() {
  long long version = 0;
  std::vector<long long> live;
  std::vector<faiss::Index::idx_t> new_ids;
  std::vector<float> new_values;
  store_.read_consistently([&] {
    version = store_.vectors_version();
    if (version == applied_version_) return;
    live = store_.vector_chunk_ids();
    store_.for_each_vector(applied_version_, [&](long long id, long long, const float* v, std::size_t n) {
      if (n != static_cast<std::size_t>(dimension_)) {
        throw StoreError(store_.database_path().string() + ": chunk " + std::to_string(id) + " has a vector of " +
                         std::to_string(n) + " values, the index " + std::to_string(dimension_));
      }
      new_ids.push_back(id);
      new_values.insert(new_values.end(), v, v + n);
    });
  });
  if (version == applied_version_) return;
  // Drop ids whose vectors are gone, and ids about to be re-added (a chunk id re-created).
  std::vector<faiss::Index::idx_t> drop;
  const std::unordered_set<faiss::Index::idx_t> live_set(live.begin(), live.end());
  const std::unordered_set<faiss::Index::idx_t> readded(new_ids.begin(), new_ids.end());
  faiss::IndexIDMap2& map = as_map(index_);
  for (faiss::Index::idx_t id : map.id_map) {
    if (!live_set.count(id) || readded.count(id)) drop.push_back(id);
  }
  if (!drop.empty()) {
    faiss::IDSelectorBatch selector(static_cast<std::size_t>(drop.size()), drop.data());
    map.remove_ids(selector);
  }
  if (!new_ids.empty()) map.add_with_ids(static_cast<faiss::Index::idx_t>(new_ids.size()), new_values.data(), new_ids.data());
  applied_version_ = version;
}

void VectorIndex::save() {
  const auto rec = store_.vector_index_record();
  if (rec && rec->model_id == model_id_ && rec->built_from_version == applied_version_ && rebuild_reason_.empty() &&
      std::filesystem::exists(store_.dir() / rec->file)) {
    return;  // the recorded file already holds exactly these vectors
  }
  const long long generation = (rec ? rec->generation : 0) + 1;
  const std::string file = "vectors-" + std::to_string(generation) + ".faiss";
  const auto final_path = store_.dir() / file;
  const auto tmp_path = store_.dir() / (file + ".tmp");
  try {
    faiss::write_index(index_.get(), tmp_path.c_str());
  } catch (const faiss::FaissException& e) {
    std::filesystem::remove(tmp_path);
    throw StoreError(tmp_path.string() + ": cannot write the vector index: " + e.what());
  }
  fsync_path(tmp_path, false);
  std::filesystem::rename(tmp_path, final_path);
  fsync_path(store_.dir(), true);
  store_.set_vector_index_record({model_id_, file, dimension_, generation, applied_version_});
  // Older generations and leftovers of interrupted saves.
  for (const auto& entry : std::filesystem::directory_iterator(store_.dir())) {
    if (is_index_file(entry.path()) && entry.path().filename() != file) {
      std::error_code ec;
      std::filesystem::remove(entry.path(), ec);
    }
  }
}

std::vector<VectorMatch> VectorIndex::search(const float* query, int k) const {
  std::vector<VectorMatch> out;
  if (k <= 0 || index_->ntotal == 0) return out;
  k = static_cast<int>(std::min<faiss::Index::idx_t>(k, index_->ntotal));
  std::vector<float> scores(k);
  std::vector<faiss::Index::idx_t> labels(k);
  index_->search(1, query, k, scores.data(), labels.data());
  for (int i = 0; i < k; ++i) {
    if (labels[i] >= 0) out.push_back({labels[i], scores[i]});
  }
  return out;
}

long long VectorIndex::size() const { return index_->ntotal; }

std::vector<long long> VectorIndex::ids() const {
  const faiss::IndexIDMap2& map = as_map(index_);
  std::vector<long long> out(map.id_map.begin(), map.id_map.end());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace hd
