#pragma once
// The prefill cache: a session's state after a token prefix (attention KV + Hyena states), kept
// so that a later prompt starting with the same tokens prefills only the rest. Recurrent states
// cannot be truncated like a KV cache, so states are stored at chosen boundaries (the caller's
// document boundaries), and a lookup takes the longest stored boundary the new prompt starts with.
//
// Three tiers, each with a byte budget, least recently used evicted first:
// - gpu: a copy in GPU memory (backends with one): restoring is a device-to-device copy;
// - memory: a copy in host memory in the backend's layout (pinned for the CUDA backend);
// - disk: the host copy's bytes as they are (saved_state_file.h: versioned, checksummed, tied to
//   the model's fingerprint and the backend's layout) in a folder, with the exact token prefix and
//   the entry's tags beside each.
// Storing costs one copy on the caller's thread: into GPU memory where there is a GPU tier (then a
// background thread copies it to host memory and writes the file), else into host memory (then
// the background thread writes the file). flush() waits for the background work.
// Keys are the model's fingerprint and the exact token prefix: an entry is used only when its
// tokens equal the prompt's first tokens, so a changed document or another model never matches;
// purge(tag) drops at once what a changed document left behind. A damaged or foreign file is
// refused, deleted and counted, never trusted.
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <list>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "hd/engine/session.h"

namespace hd {

struct PrefillCacheOptions {
  std::uint64_t gpu_budget_bytes = 0;          // 0: no GPU tier (the CPU backend never has one)
  std::uint64_t memory_budget_bytes = 8ull << 30;
  std::filesystem::path disk_dir;              // empty: no disk tier
  std::uint64_t disk_budget_bytes = 32ull << 30;
};

struct PrefillCacheStats {
  std::uint64_t gpu_bytes = 0, memory_bytes = 0, disk_bytes = 0;
  std::size_t gpu_entries = 0, memory_entries = 0, disk_entries = 0;
  std::size_t hits_gpu = 0, hits_memory = 0, hits_disk = 0, misses = 0;
  std::size_t refused_files = 0, evicted = 0, purged = 0, write_failures = 0, pending_writes = 0;
  std::string last_write_error;
};

// Where the tokens a prompt reused came from.
enum class CacheTier { none, gpu, memory, disk };
const char* to_string(CacheTier tier);

struct CacheLookup {
  std::size_t tokens = 0;          // prefix restored into the session (0: nothing cached)
  CacheTier tier = CacheTier::none;
};

// Removes the disk tier's files in `dir` that carry `tag` (and unreadable ones), for a process that
// holds no cache, e.g. ingest after a document changed; returns how many entries were removed.
std::size_t purge_prefill_files(const std::filesystem::path& dir, const std::string& tag);

class PrefillCache {
 public:
  PrefillCache(std::uint64_t model_fingerprint, PrefillCacheOptions options);
  ~PrefillCache();  // waits for pending disk writes: nothing stored is lost
  PrefillCache(const PrefillCache&) = delete;
  PrefillCache& operator=(const PrefillCache&) = delete;

  // Restores into `session` (reset first) the longest stored prefix of `tokens` among
  // `boundaries` (prefix lengths, any order); returns its length and tier.
  CacheLookup restore_longest(Session& session, std::span<const int> tokens, std::span<const std::size_t> boundaries);
  // Stores the session's state as the state after `prefix` (session.position() == prefix.size()),
  // with tags (e.g. the documents it holds) for purge().
  void store(const Session& session, std::span<const int> prefix, std::vector<std::string> tags = {});
  bool contains(std::span<const int> prefix) const;
  // Drops every entry carrying `tag`, in every tier; returns how many were dropped.
  std::size_t purge(const std::string& tag);
  void flush();  // waits until every pending disk write is done

  // While a Hold lives, the background worker starts nothing new: a question being answered does
  // not wait on it (pinning gigabytes of host memory for a first copy stalls every CUDA call for
  // seconds). flush() and a disk lookup of a pending entry still let it run.
  class Hold {
   public:
    explicit Hold(PrefillCache* cache);
    ~Hold();
    Hold(const Hold&) = delete;
    Hold& operator=(const Hold&) = delete;

   private:
    PrefillCache* cache_;
  };
  void clear();  // empties the GPU and memory tiers
  void clear(CacheTier tier);  // empties one of them (gpu or memory)

  PrefillCacheStats stats() const;

 private:
  struct Entry {
    std::vector<int> tokens;
    std::uint64_t key = 0;
    std::shared_ptr<const SavedState> state;
    std::vector<std::string> tags;
    std::uint64_t layout = 0;          // the backend's saved-state layout, for the disk file
    const Backend* backend = nullptr;  // for the background copy of a GPU state to host memory
  };
  struct Tier {
    std::list<Entry> entries;  // most recently used first
    std::uint64_t budget = 0;
    std::uint64_t bytes() const;
  };
  std::uint64_t key_of(std::span<const int> prefix) const;
  std::filesystem::path file_of(std::uint64_t key) const;
  bool restore_from(Tier& tier, Session& session, std::span<const int> prefix, std::uint64_t key);
  void put(Tier& tier, Entry e);
  std::shared_ptr<const SavedState> put_on_gpu(const Session& session, const Entry& like);
  std::shared_ptr<const SavedState> read_from_disk(Session& session, std::span<const int> prefix, std::vector<std::string>& tags);
  void write_loop();
  void evict_disk();

  std::uint64_t fingerprint_;
  PrefillCacheOptions options_;
  mutable std::mutex mutex_;  // guards the tiers' lists, pending_, stats_ and the disk folder
  Tier gpu_, memory_;
  PrefillCacheStats stats_;

  // The background worker: entries wait here (sharing their state with a tier) until it has made
  // their host copy (states stored on the GPU) and written their file (with a disk tier).
  std::condition_variable wake_, idle_;
  std::deque<Entry> pending_;
  bool writing_ = false, stopping_ = false;
  int holds_ = 0, waiters_ = 0;
  std::thread writer_;
};

}  // namespace hd
