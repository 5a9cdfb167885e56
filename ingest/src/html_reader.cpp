// HTML through gumbo (an HTML5 parser): the body's text, headings as sections, <title> as
// the title; scripts, styles, navigation and other page furniture left out. The tree is
// walked with an explicit stack, so deeply nested markup cannot overflow the call stack.
#include <gumbo.h>

#include <memory>
#include <vector>

#include "file_bytes.h"
#include "html_depth.h"
#include "hd/ingest/readers.h"

namespace hd {
namespace {

bool skipped(GumboTag t) {
  return t == GUMBO_TAG_SCRIPT || t == GUMBO_TAG_STYLE || t == GUMBO_TAG_NOSCRIPT || t == GUMBO_TAG_TEMPLATE ||
         t == GUMBO_TAG_NAV || t == GUMBO_TAG_FOOTER || t == GUMBO_TAG_ASIDE || t == GUMBO_TAG_HEAD ||
         t == GUMBO_TAG_SVG || t == GUMBO_TAG_IFRAME;
}
int heading_level(GumboTag t) {
  switch (t) {
    case GUMBO_TAG_H1: return 1;
    case GUMBO_TAG_H2: return 2;
    case GUMBO_TAG_H3: return 3;
    case GUMBO_TAG_H4: return 4;
    case GUMBO_TAG_H5: return 5;
    case GUMBO_TAG_H6: return 6;
    default: return 0;
  }
}
bool is_block(GumboTag t) {
  switch (t) {
    case GUMBO_TAG_P: case GUMBO_TAG_DIV: case GUMBO_TAG_LI: case GUMBO_TAG_TR: case GUMBO_TAG_PRE:
    case GUMBO_TAG_BLOCKQUOTE: case GUMBO_TAG_SECTION: case GUMBO_TAG_ARTICLE: case GUMBO_TAG_MAIN:
    case GUMBO_TAG_UL: case GUMBO_TAG_OL: case GUMBO_TAG_TABLE: case GUMBO_TAG_BR: case GUMBO_TAG_HR:
    case GUMBO_TAG_DT: case GUMBO_TAG_DD: case GUMBO_TAG_FIGCAPTION: case GUMBO_TAG_BODY:
      return true;
    default:
      return heading_level(t) != 0;
  }
}

// The plain text under a node (for headings and the title), iteratively.
std::string text_under(const GumboNode* node) {
  std::string out;
  std::vector<const GumboNode*> stack{node};
  while (!stack.empty()) {
    const GumboNode* n = stack.back();
    stack.pop_back();
    if (n->type == GUMBO_NODE_TEXT || n->type == GUMBO_NODE_WHITESPACE) {
      out += n->v.text.text;
    } else if (n->type == GUMBO_NODE_ELEMENT && !skipped(n->v.element.tag)) {
      const GumboVector& kids = n->v.element.children;
      for (unsigned i = kids.length; i-- > 0;) stack.push_back(static_cast<const GumboNode*>(kids.data[i]));
    }
  }
  return out;
}

// Whitespace as a browser shows it: every run becomes one space.
std::string collapse_spaces(const std::string& s) {
  std::string out;
  bool space = false;
  for (char c : s) {
    const bool ws = c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\f';
    if (ws) {
      space = true;
      continue;
    }
    if (space && !out.empty()) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

}  // namespace

Document read_html(const std::filesystem::path& path, const ReadLimits& limits) {
  Document doc;
  doc.path = path;
  doc.format = DocumentFormat::html;
  const std::string html = decode_text_file(path, limits, doc);
  const ingest_detail::HtmlDepth depth = ingest_detail::scan_html_depth(html, limits.max_html_depth);
  if (depth.over_at != std::string_view::npos) {
    throw ReadError(path.string() + ": HTML nested more than " + std::to_string(limits.max_html_depth) +
                    " elements deep (at byte " + std::to_string(depth.over_at) +
                    "); refused, since parsing it would take minutes");
  }
  std::unique_ptr<GumboOutput, void (*)(GumboOutput*)> out(
      gumbo_parse_with_options(&kGumboDefaultOptions, html.data(), html.size()),
      [](GumboOutput* o) { gumbo_destroy_output(&kGumboDefaultOptions, o); });
  if (!out) throw ReadError(path.string() + ": the HTML parser gave up");

  DocumentBuilder b(doc, limits.max_text_bytes, limits);
  std::string pending;
  // Stack entries: a node to visit, or (node == nullptr) the end of a block element.
  std::vector<const GumboNode*> stack{out->root};
  std::string title;
  while (!stack.empty()) {
    const GumboNode* n = stack.back();
    stack.pop_back();
    if (!n) {
      b.paragraph(collapse_spaces(pending));
      pending.clear();
      continue;
    }
    if (n->type == GUMBO_NODE_TEXT || n->type == GUMBO_NODE_CDATA) {
      pending += n->v.text.text;
      continue;
    }
    if (n->type == GUMBO_NODE_WHITESPACE) {
      pending += ' ';
      continue;
    }
    if (n->type != GUMBO_NODE_ELEMENT && n->type != GUMBO_NODE_DOCUMENT) continue;
    const GumboVector& kids = n->type == GUMBO_NODE_DOCUMENT ? n->v.document.children : n->v.element.children;
    if (n->type == GUMBO_NODE_ELEMENT) {
      const GumboTag tag = n->v.element.tag;
      if (tag == GUMBO_TAG_TITLE && title.empty()) title = text_under(n);
      if (tag == GUMBO_TAG_HEAD) {  // only the title matters there
        for (unsigned i = 0; i < kids.length; ++i) {
          const auto* k = static_cast<const GumboNode*>(kids.data[i]);
          if (k->type == GUMBO_NODE_ELEMENT && k->v.element.tag == GUMBO_TAG_TITLE && title.empty()) title = text_under(k);
        }
        continue;
      }
      if (skipped(tag)) continue;
      if (const int level = heading_level(tag)) {
        b.paragraph(collapse_spaces(pending));
        pending.clear();
        b.heading(level, collapse_spaces(text_under(n)));
        continue;
      }
      if (is_block(tag)) {
        b.paragraph(collapse_spaces(pending));
        pending.clear();
        stack.push_back(nullptr);  // close the block after its children
      }
    }
    for (unsigned i = kids.length; i-- > 0;) stack.push_back(static_cast<const GumboNode*>(kids.data[i]));
  }
  b.paragraph(collapse_spaces(pending));
  b.finish();
  title = collapse_spaces(title);
  if (!title.empty()) doc.title = title;
  if (doc.title.empty()) doc.title = path.stem().string();
  return doc;
}

}  // namespace hd
