#pragma once
// Cutting a document into passages for search and for the model: along its structure
// (a chunk never spans two sections; paragraphs stay whole unless one alone is too long),
// bounded in tokens of the model's tokenizer, with some overlap between neighbours.
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "hd/ingest/document.h"

namespace hd {

struct Chunk {
  std::string text;
  std::string section_path;
  int page_first = 0, page_last = 0;  // 0 when the document has no pages
  std::size_t begin = 0, end = 0;     // byte offsets into Document::text
  std::size_t tokens = 0;
};

struct ChunkOptions {
  std::size_t max_tokens = 256;
  std::size_t overlap_tokens = 32;  // repeated from the end of the previous chunk of the same section
};

// Token count of a piece of text (the model's tokenizer, injected to keep ingest/ free of the engine).
using TokenCounter = std::function<std::size_t(std::string_view)>;

std::vector<Chunk> chunk_document(const Document& doc, const ChunkOptions& options, const TokenCounter& count_tokens);

}  // namespace hd
