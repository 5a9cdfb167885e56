#pragma once
// The sources an answer cited, as JSON: one schema for `hyenadesk ask --json` and the API server.
#include <nlohmann/json.hpp>
#include <vector>

#include "hd/app/attribution.h"
#include "hd/app/context_packer.h"

namespace hd {

// [{number, document, path, section, page_first, page_last, quote, cosine, marked_by_model}], each
// cited source once, in order of first use.
nlohmann::ordered_json sources_json(const std::vector<Citation>& citations, const PackedContext& context);

}  // namespace hd
