#include "html_depth.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <string>

namespace hd::ingest_detail {
namespace {

// Elements that never nest anything (void) or close themselves when a sibling starts (optional
// end tags): counting them would call ordinary pages deep.
constexpr std::array<std::string_view, 38> kNotNesting = {
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr",
    "keygen", "basefont", "bgsound", "frame", "p", "li", "dt", "dd", "tr", "td", "th", "thead", "tbody", "tfoot",
    "option", "optgroup", "rb", "rt", "rtc", "rp", "colgroup", "caption", "html", "body"};
constexpr std::array<std::string_view, 6> kRawText = {"script", "style", "textarea", "title", "xmp", "plaintext"};

bool contains(auto& list, std::string_view name) { return std::find(list.begin(), list.end(), name) != list.end(); }

bool iequals_prefix(std::string_view text, std::size_t at, std::string_view word) {
  if (text.size() - at < word.size()) return false;
  for (std::size_t i = 0; i < word.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[at + i])) != word[i]) return false;
  }
  return true;
}

}  // namespace

HtmlDepth scan_html_depth(std::string_view html, std::size_t limit) {
  HtmlDepth out;
  std::size_t depth = 0, i = 0;
  const std::size_t n = html.size();
  while (i < n) {
    const std::size_t lt = html.find('<', i);
    if (lt == std::string_view::npos || lt + 1 >= n) break;
    i = lt + 1;
    if (html.compare(i, 3, "!--") == 0) {  // a comment: skip to its end
      const std::size_t end = html.find("-->", i + 3);
      i = end == std::string_view::npos ? n : end + 3;
      continue;
    }
    const bool closing = html[i] == '/';
    if (closing) ++i;
    std::size_t name_end = i;
    while (name_end < n && std::isalnum(static_cast<unsigned char>(html[name_end]))) ++name_end;
    if (name_end == i || name_end - i > 16) continue;  // not a tag ("a < b", "<!doctype", "<?xml")
    std::string name(html.substr(i, name_end - i));
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const std::size_t gt = html.find('>', name_end);
    if (gt == std::string_view::npos) break;
    const bool self_closing = gt > 0 && html[gt - 1] == '/';
    i = gt + 1;
    if (contains(kNotNesting, name)) continue;
    if (closing) {
      if (depth > 0) --depth;
      continue;
    }
    if (contains(kRawText, name)) {  // its content is text, whatever it looks like
      const std::string end_tag = "</" + name;
      std::size_t j = html.find('<', i);
      while (j != std::string_view::npos && !iequals_prefix(html, j, end_tag)) j = html.find('<', j + 1);
      i = j == std::string_view::npos ? n : j;
      continue;
    }
    if (self_closing) continue;
    out.deepest = std::max(out.deepest, ++depth);
    if (depth > limit) {
      out.over_at = lt;
      break;
    }
  }
  return out;
}

}  // namespace hd::ingest_detail
