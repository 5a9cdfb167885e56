#pragma once
// The library the desktop app shows: every stored document with its format, pages, chunks, status
// and failure reason; collections (named sets of folders and files) for scoping questions; and
// removing documents (the store, their vectors in the index, their cached prefill states).
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "hd/engine/text_embedder.h"
#include "hd/retrieval/store.h"

namespace hd {

struct LibraryEntry {
  long long id = 0;
  std::string path, title, format, status, error;
  long long chunks = 0;
  int pages = 0;  // 0: a format without pages
};

std::vector<LibraryEntry> list_library(const Store& store);

// Forgets `paths` (and their documents when no other path holds them), deletes their cached
// prefill states, and brings the vector index up to date when an embedder is given.
void remove_from_library(Store& store, const std::vector<std::string>& paths, const TextEmbedder* embedder);

class Collections;

// Removes a collection and the documents under its folders and files (as remove_from_library).
void remove_collection(Store& store, Collections& collections, const std::string& name, const TextEmbedder* embedder);

// Named collections of folders and files, kept beside the store (collections.json, written
// atomically). A document belongs to a collection when its path is one of the collection's roots
// or lies under one.
class Collections {
 public:
  // Reads <store_dir>/collections.json (none yet: empty). A damaged file throws std::runtime_error
  // naming it; it is never overwritten silently.
  static Collections load(const std::filesystem::path& store_dir);

  void add(const std::string& name, const std::string& root);
  void remove(const std::string& name);
  std::vector<std::string> names() const;
  std::vector<std::string> roots(const std::string& name) const;
  std::vector<long long> document_ids(const Store& store, const std::string& name) const;
  void save() const;

 private:
  std::filesystem::path file_;
  std::map<std::string, std::vector<std::string>> roots_;
};

// What a folder watcher should follow for the collections: every folder root, the folders under it
// and the files in them (a watch on a folder does not see a file rewritten in place), and the
// collections' file roots; at most `limit` paths, since watches are a per-user resource of the
// kernel. Unreadable folders are skipped.
std::vector<std::string> paths_to_watch(const Collections& collections, std::size_t limit);

}  // namespace hd
