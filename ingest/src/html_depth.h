#pragma once
// A linear pre-scan of HTML for how deeply its elements nest. gumbo's HTML5 tree builder walks the
// stack of open elements for every tag, so its time grows with tags x depth: 200,000 unclosed
// <div> never finish. Browsers flatten such trees (Blink stops nesting at 512); we refuse them
// before parsing, naming the byte where the limit was passed.
#include <cstddef>
#include <string_view>

namespace hd::ingest_detail {

struct HtmlDepth {
  std::size_t deepest = 0;
  std::size_t over_at = std::string_view::npos;  // byte offset of the tag that went past the limit
};

// Depth counts elements that stay open until closed; void elements, elements whose end tag is
// optional (p, li, td, ...), comments and the content of script, style, textarea and title do not
// count. Scanning stops at the first tag past `limit`.
HtmlDepth scan_html_depth(std::string_view html, std::size_t limit);

}  // namespace hd::ingest_detail
