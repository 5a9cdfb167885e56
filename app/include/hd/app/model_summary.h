#pragma once
// A model folder described for people: shape, parameter count, dtype mix, and the memory
// a given context length needs.
#include <cstdint>
#include <filesystem>
#include <string>

namespace hd {

struct ModelSummaryOptions {
  std::int64_t context_tokens = 0;  // 0: the config's max_seqlen
};

// Opens and validates the checkpoint in `dir` (throws on any problem) and describes it.
std::string model_summary_text(const std::filesystem::path& dir, const ModelSummaryOptions& options = {});

}  // namespace hd
