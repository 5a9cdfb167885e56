#include "hd/app/export_markdown.h"

namespace hd {

std::string answer_markdown(const std::string& heading, const std::string& text, const std::vector<ExportSource>& sources,
                            bool partial) {
  std::string md = "# " + heading + "\n\n" + text + "\n";
  if (partial) md += "\n*Stopped before the end: this is what was written so far.*\n";
  if (!sources.empty()) md += "\n## Sources\n\n";
  for (const ExportSource& s : sources) {
    md += "- [" + std::to_string(s.number) + "] " + (s.title.empty() ? s.path : s.title);
    if (!s.section.empty()) md += ", " + s.section;
    if (s.page_first > 0) {
      md += s.page_first == s.page_last ? ", p. " + std::to_string(s.page_first)
                                        : ", pp. " + std::to_string(s.page_first) + "–" + std::to_string(s.page_last);
    }
    md += " (`" + s.path + "`)";
    if (!s.quote.empty()) md += "\n  > " + s.quote;
    md += "\n";
  }
  return md;
}

}  // namespace hd
