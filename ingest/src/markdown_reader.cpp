// Markdown through cmark: headings become sections, paragraphs, list items and code blocks
// become paragraphs of text.
#include <cmark.h>

#include <memory>

#include "file_bytes.h"
#include "hd/ingest/readers.h"

namespace hd {
namespace {

// Owns a cmark iterator: a cancel or budget stop throws from inside the walk, and the iterator
// must not leak when it does.
using CmarkIter = std::unique_ptr<cmark_iter, void (*)(cmark_iter*)>;
CmarkIter iterate(cmark_node* node) { return CmarkIter(cmark_iter_new(node), cmark_iter_free); }

// The text under `node`: literal text and code, soft breaks as spaces.
std::string inline_text(cmark_node* node) {
  std::string out;
  CmarkIter it = iterate(node);
  for (cmark_event_type ev; (ev = cmark_iter_next(it.get())) != CMARK_EVENT_DONE;) {
    if (ev != CMARK_EVENT_ENTER) continue;
    cmark_node* n = cmark_iter_get_node(it.get());
    switch (cmark_node_get_type(n)) {
      case CMARK_NODE_TEXT:
      case CMARK_NODE_CODE:
        if (const char* lit = cmark_node_get_literal(n)) out += lit;
        break;
      case CMARK_NODE_SOFTBREAK: out += ' '; break;
      case CMARK_NODE_LINEBREAK: out += '\n'; break;
      default: break;
    }
  }
  return out;
}

}  // namespace

Document read_markdown(const std::filesystem::path& path, const ReadLimits& limits) {
  Document doc;
  doc.path = path;
  doc.format = DocumentFormat::markdown;
  const std::string text = decode_text_file(path, limits, doc);
  std::unique_ptr<cmark_node, void (*)(cmark_node*)> root(cmark_parse_document(text.data(), text.size(), CMARK_OPT_DEFAULT),
                                                          cmark_node_free);
  if (!root) throw ReadError(path.string() + ": the Markdown parser gave up");
  DocumentBuilder b(doc, limits.max_text_bytes, limits);
  CmarkIter it = iterate(root.get());
  for (cmark_event_type ev; (ev = cmark_iter_next(it.get())) != CMARK_EVENT_DONE;) {
    if (ev != CMARK_EVENT_ENTER) continue;
    cmark_node* n = cmark_iter_get_node(it.get());
    switch (cmark_node_get_type(n)) {
      case CMARK_NODE_HEADING: b.heading(cmark_node_get_heading_level(n), inline_text(n)); break;
      case CMARK_NODE_PARAGRAPH: b.paragraph(inline_text(n)); break;
      case CMARK_NODE_CODE_BLOCK:
        if (const char* lit = cmark_node_get_literal(n)) b.paragraph(lit);
        break;
      default: break;
    }
  }
  b.finish();
  if (doc.title.empty()) doc.title = path.stem().string();
  return doc;
}

}  // namespace hd
