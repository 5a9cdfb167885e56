#include "hd/ingest/chunker.h"

#include <algorithm>

namespace hd {
namespace {

struct Piece {
  std::size_t begin, end, tokens;
};

// Paragraphs of [begin, end) (separated by blank lines), each cut further at sentence or
// word boundaries when it alone exceeds max_tokens.
std::vector<Piece> pieces_of(const std::string& text, std::size_t begin, std::size_t end, std::size_t max_tokens,
                             const TokenCounter& count) {
  std::vector<Piece> out;
  std::size_t p = begin;
  while (p < end) {
    std::size_t q = text.find("\n\n", p);
    if (q == std::string::npos || q > end) q = end;
    std::size_t a = p;
    while (a < q) {
      // Grow [a, b) word by word until it would exceed max_tokens.
      std::size_t b = q;
      std::size_t tokens = count(std::string_view(text).substr(a, b - a));
      if (tokens > max_tokens) {
        std::size_t lo = a, hi = q;  // binary search the longest prefix that fits, then back to a space
        while (hi - lo > 1) {
          const std::size_t mid = (lo + hi) / 2;
          if (count(std::string_view(text).substr(a, mid - a)) <= max_tokens) lo = mid;
          else hi = mid;
        }
        b = lo;
        const std::size_t space = text.rfind(' ', b);
        if (space != std::string::npos && space > a) b = space;
        if (b <= a) b = std::min(q, a + 1);  // a single huge "word": cut it anyway
        while (b < q && (static_cast<unsigned char>(text[b]) & 0xc0) == 0x80) ++b;  // whole characters
        tokens = count(std::string_view(text).substr(a, b - a));
      }
      out.push_back({a, b, tokens});
      a = b;
      while (a < q && text[a] == ' ') ++a;
    }
    p = q + 2;
  }
  return out;
}

}  // namespace

std::vector<Chunk> chunk_document(const Document& doc, const ChunkOptions& options, const TokenCounter& count) {
  std::vector<Chunk> chunks;
  std::vector<Section> sections = doc.sections;
  if (sections.empty() && !doc.text.empty()) sections.push_back({"", 0, doc.text.size()});
  auto page_at = [&](std::size_t offset) {
    for (const PageSpan& p : doc.pages) {
      if (offset >= p.begin && offset <= p.end) return p.page;
    }
    return 0;
  };
  for (const Section& section : sections) {
    const std::vector<Piece> pieces = pieces_of(doc.text, section.begin, section.end, options.max_tokens, count);
    std::size_t i = 0;
    while (i < pieces.size()) {
      // A chunk never crosses a page boundary, so a citation of it names one page.
      std::size_t j = i, tokens = 0;
      const int page = page_at(pieces[i].begin);
      while (j < pieces.size() &&
             (j == i || (tokens + pieces[j].tokens <= options.max_tokens && page_at(pieces[j].begin) == page))) {
        tokens += pieces[j++].tokens;
      }
      Chunk c;
      c.begin = pieces[i].begin;
      c.end = pieces[j - 1].end;
      c.text = doc.text.substr(c.begin, c.end - c.begin);
      c.section_path = section.path;
      c.tokens = count(c.text);
      c.page_first = page_at(c.begin);
      c.page_last = page_at(c.end);
      chunks.push_back(std::move(c));
      if (j >= pieces.size()) break;
      // Start the next chunk with as many trailing pieces as fit in the overlap (none across a page).
      std::size_t k = j, overlap = 0;
      if (page_at(pieces[j].begin) == page) {
        while (k > i + 1 && overlap + pieces[k - 1].tokens <= options.overlap_tokens) overlap += pieces[--k].tokens;
      }
      i = k;
    }
  }
  return chunks;
}

}  // namespace hd
