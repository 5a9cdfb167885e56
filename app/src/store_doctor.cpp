#include "hd/app/store_doctor.h"

#include <map>
#include <string>

#include "hd/retrieval/vector_index.h"

namespace hd {

std::vector<StoreCheck> check_store(Store& store) {
  std::vector<StoreCheck> out = store.integrity_checks();
  for (const std::string& model : store.vector_models()) {
    StoreCheck sizes{"vector sizes (" + model + ")", "ok", true};
    std::map<std::size_t, long long> by_size;
    try {
      store.for_each_vector(0, [&](long long, long long, const float*, std::size_t n) { ++by_size[n]; });
    } catch (const StoreError& e) {
      out.push_back({sizes.name, e.what(), false});
      continue;
    }
    if (by_size.size() > 1) {
      sizes.ok = false;
      sizes.result = "vectors of " + std::to_string(by_size.size()) + " different sizes";
    }
    out.push_back(sizes);
    if (by_size.empty()) continue;
    StoreCheck index{"vector index file (" + model + ")", "", true};
    try {
      // Opening compares the file with the stored vectors; a mismatch is rebuilt in memory only
      // (nothing is saved here) and named.
      const auto vi = VectorIndex::open(store, model, static_cast<int>(by_size.rbegin()->first));
      if (vi->rebuild_reason().empty()) {
        index.result = "ok (" + std::to_string(vi->size()) + " vectors)";
      } else {
        index.ok = false;
        index.result = vi->rebuild_reason() + "; the next ingest rebuilds and saves it";
      }
    } catch (const std::exception& e) {
      index.ok = false;
      index.result = e.what();
    }
    out.push_back(index);
  }
  return out;
}

}  // namespace hd
