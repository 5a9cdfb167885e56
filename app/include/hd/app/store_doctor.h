#pragma once
// `hyenadesk doctor --store DIR`: every check of a store, read-only. The database's own checks
// (SQLite integrity, full-text index, references) and, per embedder, the stored vectors (all of one
// size) against the FAISS index file (does it hold exactly them).
#include <vector>

#include "hd/retrieval/store.h"

namespace hd {

std::vector<StoreCheck> check_store(Store& store);

}  // namespace hd
