#pragma once
// An answer or a summary as Markdown, with its sources (document, section, pages, quoted passage),
// for "Export…" in the desktop app.
#include <string>
#include <vector>

namespace hd {

struct ExportSource {
  int number = 0;
  std::string title, path, section, quote;
  int page_first = 0, page_last = 0;
};

std::string answer_markdown(const std::string& heading, const std::string& text, const std::vector<ExportSource>& sources,
                            bool partial);

}  // namespace hd
