#pragma once
// The prefill cache: a session's state after a token prefix (attention KV + Hyena states), kept
// so that a later prompt starting with the same tokens prefills only the rest. Recurrent states
// cannot be truncated like a KV cache, so states are stored at chosen boundaries (the caller's
// document boundaries), and a lookup takes the longest stored boundary the new prompt starts with.
//
// Two tiers, each with a byte budget, least recently used evicted first:
// - memory: Session::save() copies in the backend's own layout (for the CUDA backend, host memory
//   it copies back in one transfer);
// - disk: Session::snapshot() files (versioned, checksummed, tied to the model's fingerprint) in a
//   folder, with the exact token prefix beside each; a state evicted from memory goes to disk.
// Keys are the model's fingerprint and the exact token prefix: an entry is used only when its
// tokens equal the prompt's first tokens, so a changed document or another model never matches.
// A damaged or foreign file is refused, deleted and counted, never trusted.
#include <cstdint>
#include <filesystem>
#include <list>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "hd/engine/session.h"

namespace hd {

struct PrefillCacheOptions {
  std::uint64_t memory_budget_bytes = 8ull << 30;
  std::filesystem::path disk_dir;              // empty: no disk tier
  std::uint64_t disk_budget_bytes = 32ull << 30;
};

struct PrefillCacheStats {
  std::uint64_t memory_bytes = 0, disk_bytes = 0;
  std::size_t memory_entries = 0, disk_entries = 0;
  std::size_t hits_memory = 0, hits_disk = 0, misses = 0, refused_files = 0, evicted = 0;
};

// Where the tokens a prompt reused came from.
enum class CacheTier { none, memory, disk };
const char* to_string(CacheTier tier);

struct CacheLookup {
  std::size_t tokens = 0;          // prefix restored into the session (0: nothing cached)
  CacheTier tier = CacheTier::none;
};

class PrefillCache {
 public:
  PrefillCache(std::uint64_t model_fingerprint, PrefillCacheOptions options);
  ~PrefillCache();
  PrefillCache(const PrefillCache&) = delete;
  PrefillCache& operator=(const PrefillCache&) = delete;

  // Restores into `session` (reset first) the longest stored prefix of `tokens` among
  // `boundaries` (prefix lengths, any order); returns its length and tier.
  CacheLookup restore_longest(Session& session, std::span<const int> tokens, std::span<const std::size_t> boundaries);
  // Stores the session's state as the state after `prefix` (session.position() == prefix.size()).
  void store(const Session& session, std::span<const int> prefix);
  bool contains(std::span<const int> prefix) const;
  void clear();

  PrefillCacheStats stats() const;

 private:
  struct Entry {
    std::vector<int> tokens;
    std::uint64_t key = 0;
    std::unique_ptr<SavedState> state;  // memory tier
    std::uint64_t bytes = 0;
  };
  std::uint64_t key_of(std::span<const int> prefix) const;
  std::filesystem::path file_of(std::uint64_t key) const;
  void evict_memory();
  void write_to_disk(const Session& session, const Entry& e);
  bool restore_from_disk(Session& session, std::span<const int> prefix);
  void evict_disk();

  std::uint64_t fingerprint_;
  PrefillCacheOptions options_;
  std::list<Entry> memory_;  // most recently used first
  PrefillCacheStats stats_;
};

}  // namespace hd
