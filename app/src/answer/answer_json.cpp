#include "hd/app/answer_json.h"

#include <algorithm>

namespace hd {

nlohmann::ordered_json sources_json(const std::vector<Citation>& citations, const PackedContext& context) {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (int n : cited_sources(citations)) {
    const SourcePassage* s = context.source(n);
    if (!s) continue;
    const auto c = std::find_if(citations.begin(), citations.end(), [&](const Citation& x) { return x.source == n; });
    out.push_back({{"number", n}, {"document", s->title}, {"path", s->path}, {"section", s->section},
                   {"page_first", s->page_first}, {"page_last", s->page_last}, {"quote", c->quote},
                   {"cosine", c->cosine}, {"marked_by_model", c->marked}});
  }
  return out;
}

}  // namespace hd
