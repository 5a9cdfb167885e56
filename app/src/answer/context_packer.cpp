#include "hd/app/context_packer.h"

#include <algorithm>
#include <map>
#include <set>
#include <stdexcept>

#include "hd/retrieval/hybrid_search.h"

namespace hd {
namespace {

// A chunk's text without what it repeats of the previous chunk (neighbours overlap).
std::string new_text(const StoredChunk& c, long long previous_end) {
  if (previous_end <= c.char_begin) return c.text;
  const auto skip = static_cast<std::size_t>(std::min<long long>(previous_end - c.char_begin, static_cast<long long>(c.text.size())));
  std::size_t at = skip;
  while (at < c.text.size() && (static_cast<unsigned char>(c.text[at]) & 0xC0) == 0x80) ++at;  // whole characters
  return c.text.substr(at);
}

std::string page_label(int first, int last) {
  if (!first) return "";
  return first == last ? "p. " + std::to_string(first) : "pp. " + std::to_string(first) + "-" + std::to_string(last);
}

// Passages made of consecutive chunks [begin, end) of one document.
SourcePassage passage_of(const std::vector<StoredChunk>& chunks, std::size_t begin, std::size_t end, long long document_id,
                         const StoredDocument& doc) {
  SourcePassage p;
  p.document_id = document_id;
  p.title = doc.title.empty() ? doc.path : doc.title;
  p.path = doc.path;
  p.section = chunks[begin].section_path;
  long long previous_end = -1;  // a passage starts with its first chunk whole
  for (std::size_t i = begin; i < end; ++i) {
    const StoredChunk& c = chunks[i];
    p.text += new_text(c, previous_end);
    previous_end = std::max(previous_end, c.char_end);
    p.chunk_ids.push_back(c.id);
    if (c.page_first && (!p.page_first || c.page_first < p.page_first)) p.page_first = c.page_first;
    p.page_last = std::max(p.page_last, c.page_last);
  }
  return p;
}

// Each passage as "[n] (section, page) text". The section is given only where it changes and
// without the document's own title, which heads the document: on a long document these labels
// would otherwise cost a quarter of the prompt.
void render(PackedDocument& d) {
  d.rendered = "## Document: " + d.title + "\n";
  std::string previous_section;
  for (const SourcePassage& p : d.passages) {
    std::string section = p.section;
    if (section.rfind(d.title + " > ", 0) == 0) section = section.substr(d.title.size() + 3);
    if (section == d.title) section.clear();
    std::string where = section == previous_section ? "" : section;
    previous_section = section;
    const std::string page = page_label(p.page_first, p.page_last);
    if (!page.empty()) where += (where.empty() ? "" : ", ") + page;
    d.rendered += "[" + std::to_string(p.number) + "]" + (where.empty() ? "" : " (" + where + ")") + " " + p.text + "\n";
  }
  d.rendered += "\n";
}

}  // namespace

const SourcePassage* PackedContext::source(int number) const {
  for (const auto& d : documents) {
    for (const auto& p : d.passages) {
      if (p.number == number) return &p;
    }
  }
  return nullptr;
}

std::vector<const SourcePassage*> PackedContext::all_sources() const {
  std::vector<const SourcePassage*> out;
  for (const auto& d : documents) {
    for (const auto& p : d.passages) out.push_back(&p);
  }
  return out;
}

std::string describe_source(const SourcePassage& s) {
  // Section paths usually start at the title heading: then the path alone says both.
  const bool path_has_title = !s.title.empty() && s.section.compare(0, s.title.size(), s.title) == 0;
  std::string out = "[" + std::to_string(s.number) + "] " + (path_has_title ? s.section : s.title);
  if (!path_has_title && !s.section.empty()) out += " > " + s.section;
  const std::string page = page_label(s.page_first, s.page_last);
  if (!page.empty()) out += ", " + page;
  return out;
}

PackedContext pack_context(const Store& store, const VectorIndex* index, const TextEmbedder* embedder,
                           const TokenCounter& count_tokens, const std::string& question, const PackOptions& options) {
  std::vector<long long> ids = options.document_ids;
  if (ids.empty()) {
    for (const StoredDocument& d : store.documents()) {
      if (d.status == "indexed" && d.chunks > 0) ids.push_back(d.id);
    }
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  }
  if (ids.empty()) throw std::runtime_error("the store has no readable documents: add some with hyenadesk ingest PATH");

  // Whole documents, in a stable order (so the same documents give the same prompt prefix).
  PackedContext whole;
  whole.whole_documents = true;
  int number = 0;
  for (long long id : ids) {
    const auto doc = store.document(id);
    if (!doc) continue;
    const std::vector<StoredChunk> chunks = store.document_chunks(id);
    if (chunks.empty()) continue;
    PackedDocument d{id, doc->title.empty() ? doc->path : doc->title, doc->path, {}, {}};
    for (std::size_t i = 0; i < chunks.size(); ++i) {
      SourcePassage p = passage_of(chunks, i, i + 1, id, *doc);
      p.text = new_text(chunks[i], i > 0 ? chunks[i - 1].char_end : -1);  // whole documents: no overlap repeated
      p.number = ++number;
      d.passages.push_back(std::move(p));
    }
    render(d);
    whole.tokens += count_tokens(d.rendered);
    whole.documents.push_back(std::move(d));
    if (whole.tokens > options.budget_tokens) break;
  }
  if (whole.tokens <= options.budget_tokens && !whole.documents.empty()) return whole;

  // Too long: the best passages, widened by their neighbours, grouped by document in reading order.
  PackedContext picked;
  picked.notice = "the documents (" + std::to_string(whole.tokens) + "+ tokens) do not fit the context budget of " +
                  std::to_string(options.budget_tokens) + " tokens: answering from the best passages found by search";
  const std::set<long long> allowed(ids.begin(), ids.end());
  HybridOptions search;
  search.k = options.max_passages * 3;
  std::vector<HybridHit> hits = hybrid_search(store, index, embedder, question, search);
  std::map<long long, std::set<std::size_t>> wanted;  // document -> chunk positions
  std::map<long long, std::vector<StoredChunk>> chunks_of;
  std::map<long long, StoredDocument> docs;
  std::vector<long long> order;  // documents by their best hit
  std::size_t used = 0;
  int taken = 0;
  for (const HybridHit& h : hits) {
    if (taken >= options.max_passages) break;
    const auto doc_id = store.document_of_chunk(h.chunk.chunk_id);
    if (!doc_id || !allowed.count(*doc_id)) continue;
    if (!chunks_of.count(*doc_id)) {
      chunks_of[*doc_id] = store.document_chunks(*doc_id);
      docs[*doc_id] = *store.document(*doc_id);
      order.push_back(*doc_id);
    }
    const auto& chunks = chunks_of[*doc_id];
    const auto at = std::find_if(chunks.begin(), chunks.end(), [&](const StoredChunk& c) { return c.id == h.chunk.chunk_id; });
    if (at == chunks.end()) continue;
    const auto pos = static_cast<std::size_t>(at - chunks.begin());
    std::size_t extra = 0;
    std::vector<std::size_t> add;
    for (std::size_t i = pos >= static_cast<std::size_t>(options.neighbours) ? pos - options.neighbours : 0;
         i <= std::min(chunks.size() - 1, pos + options.neighbours); ++i) {
      if (!wanted[*doc_id].count(i)) {
        add.push_back(i);
        extra += static_cast<std::size_t>(chunks[i].token_count) + 8;
      }
    }
    if (used + extra > options.budget_tokens) continue;
    used += extra;
    for (std::size_t i : add) wanted[*doc_id].insert(i);
    ++taken;
  }
  if (!taken) throw std::runtime_error("no passage in the selected documents matches the question");
  std::sort(order.begin(), order.end());  // a stable document order: the same documents, the same prefix
  number = 0;
  for (long long id : order) {
    if (!wanted.count(id)) continue;
    const auto& chunks = chunks_of[id];
    PackedDocument d{id, docs[id].title.empty() ? docs[id].path : docs[id].title, docs[id].path, {}, {}};
    const std::vector<std::size_t> pos(wanted[id].begin(), wanted[id].end());
    for (std::size_t a = 0; a < pos.size();) {  // runs of consecutive chunks become one passage
      std::size_t b = a + 1;
      while (b < pos.size() && pos[b] == pos[b - 1] + 1) ++b;
      SourcePassage p = passage_of(chunks, pos[a], pos[b - 1] + 1, id, docs[id]);
      p.number = ++number;
      d.passages.push_back(std::move(p));
      a = b;
    }
    render(d);
    picked.tokens += count_tokens(d.rendered);
    picked.documents.push_back(std::move(d));
  }
  return picked;
}

}  // namespace hd
