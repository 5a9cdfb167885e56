#include "hd/retrieval/vector_index.h"

#include "hd/engine/hash.h"
#include "hd/retrieval/crash_point.h"

#include <faiss/IndexFlat.h>
#include <faiss/IndexIDMap.h>
#include <faiss/IndexIVFFlat.h>
#include <faiss/impl/FaissException.h>
#include <faiss/impl/IDSelector.h>
#include <faiss/index_io.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <cstdio>
#include <random>
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

using idx_t = faiss::Index::idx_t;

// Every id the index holds, whichever kind it is.
std::vector<idx_t> index_ids(const faiss::Index& index) {
  if (const auto* map = dynamic_cast<const faiss::IndexIDMap2*>(&index)) return map->id_map;
  std::vector<idx_t> out;
  const auto& ivf = dynamic_cast<const faiss::IndexIVF&>(index);
  for (std::size_t list = 0; list < ivf.nlist; ++list) {
    const std::size_t n = ivf.invlists->list_size(list);
    faiss::InvertedLists::ScopedIds ids(ivf.invlists, list);
    out.insert(out.end(), ids.get(), ids.get() + n);
  }
  return out;
}

// FNV-1a 64 of a file's bytes, hex.
std::string file_checksum(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw StoreError(p.string() + ": cannot open to checksum");
  Fnv1a64 h;
  std::vector<char> buf(1 << 20);
  while (in.read(buf.data(), static_cast<std::streamsize>(buf.size())) || in.gcount() > 0) {
    h.update(buf.data(), static_cast<std::size_t>(in.gcount()));
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h.digest()));
  return hex;
}

bool is_index_file(const std::filesystem::path& p) {
  const std::string name = p.filename().string();
  return name.rfind("vectors-", 0) == 0 && (name.find(".faiss") != std::string::npos);
}

}  // namespace

VectorIndex::VectorIndex(Store& store, std::string model_id, int dimension, const VectorIndexOptions& options)
    : store_(store), model_id_(std::move(model_id)), dimension_(dimension), options_(options) {}
VectorIndex::~VectorIndex() = default;

bool VectorIndex::approximate() const { return dynamic_cast<const faiss::IndexIVF*>(index_.get()) != nullptr; }

void VectorIndex::rebuild_as_ivf() {
  auto& flat_map = static_cast<faiss::IndexIDMap2&>(*index_);
  const idx_t n = flat_map.ntotal;
  const auto& flat = static_cast<const faiss::IndexFlat&>(*flat_map.index);
  const float* xb = flat.get_xb();
  // About 4 sqrt(n) cells (the usual rule), trained on up to 64 vectors a cell.
  const std::size_t nlist = static_cast<std::size_t>(std::max(16.0, 4.0 * std::sqrt(static_cast<double>(n))));
  auto* quantizer = new faiss::IndexFlatIP(dimension_);
  auto ivf = std::make_unique<faiss::IndexIVFFlat>(quantizer, dimension_, nlist, faiss::METRIC_INNER_PRODUCT);
  ivf->own_fields = true;
  const idx_t sample = std::min<idx_t>(n, static_cast<idx_t>(nlist) * 64);
  std::vector<float> train(static_cast<std::size_t>(sample) * dimension_);
  std::mt19937_64 gen(12345);  // a fixed sample: the same store gives the same index
  for (idx_t i = 0; i < sample; ++i) {
    const idx_t pick = sample == n ? i : static_cast<idx_t>(gen() % static_cast<std::uint64_t>(n));
    std::copy(xb + pick * dimension_, xb + (pick + 1) * dimension_, train.begin() + i * dimension_);
  }
  ivf->train(sample, train.data());
  ivf->add_with_ids(n, xb, flat_map.id_map.data());
  ivf->nprobe = static_cast<std::size_t>(options_.ivf_probes);
  index_ = std::move(ivf);
}

void VectorIndex::reset_empty() {
  auto map = std::make_unique<faiss::IndexIDMap2>(new faiss::IndexFlatIP(dimension_));
  map->own_fields = true;
  index_ = std::move(map);
  applied_version_ = 0;
}

std::unique_ptr<VectorIndex> VectorIndex::open(Store& store, const std::string& model_id, int dimension,
                                               const VectorIndexOptions& options) {
  for (const std::string& m : store.vector_models()) {
    if (m != model_id) {
      throw StoreError(store.database_path().string() + ": the store holds vectors of the embedding model \"" + m +
                       "\", not \"" + model_id + "\"; re-ingest into a new store to change models");
    }
  }
  std::unique_ptr<VectorIndex> vi(new VectorIndex(store, model_id, dimension, options));
  const auto rec = store.vector_index_record();
  if (!rec) {
    // A first build (also after a crash before the first save): not a rebuild.
  } else if (rec->model_id != model_id || rec->dimension != dimension) {
    vi->rebuild_reason_ = "the recorded index was made by another model";
  } else if (!std::filesystem::exists(store.dir() / rec->file)) {
    vi->rebuild_reason_ = "the index file " + rec->file + " is missing";
  } else if (static_cast<long long>(std::filesystem::file_size(store.dir() / rec->file)) != rec->file_bytes ||
             file_checksum(store.dir() / rec->file) != rec->file_checksum) {
    // Checked before FAISS parses it: a damaged file never reaches its reader.
    vi->rebuild_reason_ = "the index file " + rec->file + " is damaged (size or checksum differ from the record)";
  } else {
    try {
      std::unique_ptr<faiss::Index> loaded(faiss::read_index((store.dir() / rec->file).c_str()));
      const bool known_kind = dynamic_cast<faiss::IndexIDMap2*>(loaded.get()) || dynamic_cast<faiss::IndexIVFFlat*>(loaded.get());
      if (!known_kind || loaded->d != dimension) {
        vi->rebuild_reason_ = "the index file " + rec->file + " is not a vector index of dimension " + std::to_string(dimension);
      } else {
        vi->index_ = std::move(loaded);
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
  if (!vi->approximate() && vi->size() >= options.ivf_threshold) vi->rebuild_as_ivf();
  return vi;
}

void VectorIndex::refresh() {
  long long version = 0;
  std::vector<long long> live;
  std::vector<idx_t> new_ids;
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
  std::vector<idx_t> drop;
  const std::unordered_set<idx_t> live_set(live.begin(), live.end());
  const std::unordered_set<idx_t> readded(new_ids.begin(), new_ids.end());
  for (idx_t id : index_ids(*index_)) {
    if (!live_set.count(id) || readded.count(id)) drop.push_back(id);
  }
  if (!drop.empty()) {
    faiss::IDSelectorBatch selector(static_cast<std::size_t>(drop.size()), drop.data());
    index_->remove_ids(selector);
  }
  if (!new_ids.empty()) index_->add_with_ids(static_cast<idx_t>(new_ids.size()), new_values.data(), new_ids.data());
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
  crash_point("index-file-written");
  const long long bytes = static_cast<long long>(std::filesystem::file_size(tmp_path));
  const std::string checksum = file_checksum(tmp_path);
  std::filesystem::rename(tmp_path, final_path);
  fsync_path(store_.dir(), true);
  crash_point("index-file-renamed");
  store_.set_vector_index_record({model_id_, file, dimension_, generation, applied_version_, bytes, checksum});
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
  k = static_cast<int>(std::min<idx_t>(k, index_->ntotal));
  std::vector<float> scores(k);
  std::vector<idx_t> labels(k);
  index_->search(1, query, k, scores.data(), labels.data());
  for (int i = 0; i < k; ++i) {
    if (labels[i] >= 0) out.push_back({labels[i], scores[i]});
  }
  return out;
}

long long VectorIndex::size() const { return index_->ntotal; }

std::vector<long long> VectorIndex::ids() const {
  const std::vector<idx_t> all = index_ids(*index_);
  std::vector<long long> out(all.begin(), all.end());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace hd
