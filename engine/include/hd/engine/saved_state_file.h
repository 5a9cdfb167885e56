#pragma once
// Saved states on disk, byte for byte as the backend keeps them (bf16 KV cache and all), for the
// prefill cache's disk tier: no conversion either way, so writing and reading run at disk speed.
// The file names the model (fingerprint) and the layout (backend, element types, shapes), and
// checksums header and payload (XXH3-64: fast enough to check gigabytes on every read); a damaged,
// truncated, foreign or other-version file is refused with StateError, never loaded.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string_view>

#include "hd/engine/backend.h"
#include "hd/engine/model_config.h"

namespace hd {

// A tag for a backend's saved-state layout of `config`: `backend_layout` names the backend's
// element types and ordering, the config adds the shapes.
std::uint64_t layout_tag(std::string_view backend_layout, const ModelConfig& config);

// Written atomically (temporary file, fsync, rename).
void write_saved_state(const std::filesystem::path& path, const SavedState& saved, std::uint64_t model_fingerprint,
                       std::uint64_t layout);
std::unique_ptr<SavedState> read_saved_state(const std::filesystem::path& path, const Backend& backend,
                                             std::uint64_t model_fingerprint);

}  // namespace hd
