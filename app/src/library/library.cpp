#include "hd/app/library.h"

#include <algorithm>
#include <fstream>
#include <set>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "hd/app/paths.h"
#include "hd/engine/atomic_file.h"
#include "hd/engine/prefill_cache.h"
#include "hd/retrieval/vector_index.h"

namespace hd {
namespace fs = std::filesystem;

std::vector<LibraryEntry> list_library(const Store& store) {
  std::vector<LibraryEntry> out;
  for (const StoredDocument& d : store.documents()) {
    LibraryEntry e{d.id, d.path, d.title.empty() ? fs::path(d.path).filename().string() : d.title, d.format, d.status, d.error,
                   d.chunks, 0};
    if (d.chunks > 0) {
      for (const StoredChunk& c : store.document_chunks(d.id)) e.pages = std::max(e.pages, c.page_last);
    }
    out.push_back(std::move(e));
  }
  std::sort(out.begin(), out.end(), [](const LibraryEntry& a, const LibraryEntry& b) { return a.path < b.path; });
  return out;
}

void remove_from_library(Store& store, const std::vector<std::string>& paths, const TextEmbedder* embedder) {
  for (const std::string& p : paths) {
    store.remove_path(p);
    purge_prefill_files(prefill_cache_dir(store.dir()), document_cache_tag(p));
  }
  if (embedder) VectorIndex::open(store, embedder->model_id(), embedder->dimension())->save();
}

void remove_collection(Store& store, Collections& collections, const std::string& name, const TextEmbedder* embedder) {
  std::vector<std::string> paths;
  const std::vector<long long> ids = collections.document_ids(store, name);
  for (const StoredDocument& d : store.documents()) {
    if (std::find(ids.begin(), ids.end(), d.id) != ids.end()) paths.push_back(d.path);
  }
  remove_from_library(store, paths, embedder);
  collections.remove(name);
  collections.save();
}

namespace {
bool under(const std::string& path, const std::string& root) {
  if (path == root) return true;
  const std::string prefix = root.back() == '/' ? root : root + "/";
  return path.compare(0, prefix.size(), prefix) == 0;
}
}  // namespace

Collections Collections::load(const fs::path& store_dir) {
  Collections c;
  c.file_ = store_dir / "collections.json";
  if (!fs::exists(c.file_)) return c;
  try {
    const auto j = nlohmann::json::parse(std::ifstream(c.file_));
    for (const auto& [name, roots] : j.at("collections").items()) c.roots_[name] = roots.get<std::vector<std::string>>();
  } catch (const std::exception& e) {
    throw std::runtime_error(c.file_.string() + ": not a collections file (" + e.what() + ")");
  }
  return c;
}

void Collections::add(const std::string& name, const std::string& root) {
  if (name.empty()) throw std::invalid_argument("a collection needs a name");
  auto& roots = roots_[name];
  const std::string absolute = fs::absolute(root).lexically_normal().string();
  if (std::find(roots.begin(), roots.end(), absolute) == roots.end()) roots.push_back(absolute);
}

void Collections::remove(const std::string& name) { roots_.erase(name); }

std::vector<std::string> Collections::names() const {
  std::vector<std::string> out;
  for (const auto& [name, roots] : roots_) out.push_back(name);
  return out;
}

std::vector<std::string> Collections::roots(const std::string& name) const {
  const auto it = roots_.find(name);
  return it == roots_.end() ? std::vector<std::string>{} : it->second;
}

std::vector<long long> Collections::document_ids(const Store& store, const std::string& name) const {
  std::vector<long long> out;
  const std::vector<std::string> rs = roots(name);
  for (const StoredDocument& d : store.documents()) {
    if (std::any_of(rs.begin(), rs.end(), [&](const std::string& r) { return under(d.path, r); })) out.push_back(d.id);
  }
  return out;
}

void Collections::save() const {
  nlohmann::json j = {{"version", 1}, {"collections", nlohmann::json::object()}};
  for (const auto& [name, roots] : roots_) j["collections"][name] = roots;
  const std::string text = j.dump(1);
  write_file_atomically(file_, [&](std::ostream& out) { out << text; });
}

std::vector<std::string> paths_to_watch(const Collections& collections, std::size_t limit) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  auto add = [&](const fs::path& p) {
    if (out.size() < limit && seen.insert(p.string()).second) out.push_back(p.string());
  };
  for (const std::string& name : collections.names()) {
    for (const std::string& root : collections.roots(name)) {
      std::error_code ec;
      if (!fs::is_directory(root, ec)) {
        if (fs::exists(root, ec)) add(root);
        continue;
      }
      add(root);
      for (fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, ec), end;
           !ec && it != end && out.size() < limit; it.increment(ec)) {
        if (it->is_directory(ec) || it->is_regular_file(ec)) add(it->path());
      }
    }
  }
  return out;
}

}  // namespace hd
