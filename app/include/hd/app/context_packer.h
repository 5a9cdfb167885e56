#pragma once
// What a question reads: the selected documents whole when they fit the token budget, otherwise
// the best passages of hybrid search, each widened by its neighbouring chunks, grouped by
// document in reading order. Every passage is a numbered source with document, section and page,
// so an answer can be traced to the page it came from.
#include <cstddef>
#include <string>
#include <vector>

#include "hd/engine/text_embedder.h"
#include "hd/ingest/chunker.h"
#include "hd/retrieval/store.h"
#include "hd/retrieval/vector_index.h"

namespace hd {

struct SourcePassage {
  int number = 0;  // [n] in the prompt and in citations, from 1
  long long document_id = 0;
  std::string title, path, section;
  int page_first = 0, page_last = 0;
  std::string text;
  std::vector<long long> chunk_ids;
};

struct PackedDocument {
  long long document_id = 0;
  std::string title, path;
  std::vector<SourcePassage> passages;  // reading order
  std::string rendered;                 // the text that enters the prompt for this document
};

struct PackedContext {
  std::vector<PackedDocument> documents;  // the order they enter the prompt
  bool whole_documents = false;
  std::string notice;  // e.g. that the documents did not fit and search picked passages
  std::size_t tokens = 0;

  const SourcePassage* source(int number) const;
  std::vector<const SourcePassage*> all_sources() const;
};

struct PackOptions {
  std::size_t budget_tokens = 0;          // for all documents together
  std::vector<long long> document_ids;    // empty: every document in the store
  int max_passages = 16;                  // retrieval mode
  int neighbours = 1;                     // chunks on each side of a hit
};

// Throws std::runtime_error when there is nothing to read (an empty store, no matching passage).
PackedContext pack_context(const Store& store, const VectorIndex* index, const TextEmbedder* embedder,
                           const TokenCounter& count_tokens, const std::string& question, const PackOptions& options);

// "[3] Quarterly report > Revenue, p. 4" for listings.
std::string describe_source(const SourcePassage& s);

}  // namespace hd
