#include <algorithm>

#include "hd/ingest/document.h"

namespace hd {
namespace {

std::string trim(const std::string& s) {
  const auto space = [](unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'; };
  std::size_t a = 0, b = s.size();
  while (a < b && space(s[a])) ++a;
  while (b > a && space(s[b - 1])) --b;
  return s.substr(a, b - a);
}

}  // namespace

void DocumentBuilder::close_section() {
  if (doc_.text.size() > section_begin_) {
    std::string path;
    for (const auto& [level, text] : headings_) path += (path.empty() ? "" : " > ") + text;
    doc_.sections.push_back({path, section_begin_, doc_.text.size()});
  }
  section_begin_ = doc_.text.size();
}

void DocumentBuilder::heading(int level, const std::string& raw) {
  const std::string text = trim(raw);
  if (text.empty()) return;
  close_section();
  while (!headings_.empty() && headings_.back().first >= level) headings_.pop_back();
  headings_.emplace_back(level, text);
  if (doc_.title.empty() && level <= 1) doc_.title = text;  // a title (0) or the first top heading
  paragraph(text);  // headings are part of the text too: they carry meaning for search
}

void DocumentBuilder::paragraph(const std::string& raw) {
  watch_.check();
  const std::string text = trim(raw);
  if (text.empty()) return;
  if (doc_.text.size() + text.size() + 2 > max_) {
    throw ReadError(doc_.path.string() + ": more than " + std::to_string(max_ >> 20) + " MiB of text");
  }
  if (!doc_.text.empty()) doc_.text += "\n\n";
  doc_.text += text;
}

void DocumentBuilder::start_page(int page) {
  watch_.check();
  if (open_page_) doc_.pages.back().end = doc_.text.size();
  doc_.pages.push_back({page, doc_.text.size() + (doc_.text.empty() ? 0 : 2), doc_.text.size()});
  open_page_ = true;
}

void DocumentBuilder::finish() {
  close_section();
  if (open_page_) doc_.pages.back().end = doc_.text.size();
  for (auto& p : doc_.pages) p.begin = std::min(p.begin, p.end);
}

}  // namespace hd
