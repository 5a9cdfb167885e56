#include "hd/engine/prefill_cache.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>

#include "hd/engine/atomic_file.h"
#include "hd/engine/hash.h"
#include "hd/engine/saved_state_file.h"

namespace hd {
namespace {

namespace fs = std::filesystem;

constexpr std::uint64_t kTokensMagic = 0x3253544b50444848ull;  // "HHDPKTS2": a prefix's tokens and tags, version 2

std::string hex(std::uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

fs::path tokens_file_of(const fs::path& state) { return fs::path(state).replace_extension(".tokens"); }

// The file beside a disk entry: magic, token count, ids, tag count, tags (length, bytes), FNV-1a
// of everything before it.
void write_tokens(const fs::path& path, std::span<const int> tokens, const std::vector<std::string>& tags) {
  std::string bytes;
  auto put = [&](const void* p, std::size_t n) { bytes.append(static_cast<const char*>(p), n); };
  const std::uint64_t count = tokens.size(), tag_count = tags.size();
  put(&kTokensMagic, 8);
  put(&count, 8);
  put(tokens.data(), tokens.size_bytes());
  put(&tag_count, 8);
  for (const std::string& t : tags) {
    const std::uint32_t n = static_cast<std::uint32_t>(t.size());
    put(&n, 4);
    put(t.data(), t.size());
  }
  Fnv1a64 h;
  h.update(bytes);
  const std::uint64_t sum = h.digest();
  put(&sum, 8);
  write_file_atomically(path, [&](std::ostream& out) { out.write(bytes.data(), static_cast<std::streamsize>(bytes.size())); });
}

bool read_tokens(const fs::path& path, std::vector<int>& tokens, std::vector<std::string>& tags) {
  std::ifstream in(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::size_t at = 0;
  auto get = [&](void* p, std::size_t n) {
    if (bytes.size() < 8 || at + n > bytes.size() - 8) return false;
    std::memcpy(p, bytes.data() + at, n);
    at += n;
    return true;
  };
  std::uint64_t magic = 0, count = 0, tag_count = 0, sum = 0;
  if (!get(&magic, 8) || magic != kTokensMagic || !get(&count, 8) || count > (1ull << 28)) return false;
  if (count > (bytes.size() - at) / sizeof(int)) return false;  // a damaged count must not allocate gigabytes
  tokens.resize(count);
  if (!get(tokens.data(), count * sizeof(int)) || !get(&tag_count, 8) || tag_count > 4096) return false;
  tags.clear();
  for (std::uint64_t i = 0; i < tag_count; ++i) {
    std::uint32_t n = 0;
    if (!get(&n, 4) || n > bytes.size()) return false;
    std::string t(n, '\0');
    if (!get(t.data(), n)) return false;
    tags.push_back(std::move(t));
  }
  if (at + 8 != bytes.size()) return false;
  std::memcpy(&sum, bytes.data() + at, 8);
  Fnv1a64 h;
  h.update(bytes.data(), at);
  return h.digest() == sum;
}

bool has_tag(const std::vector<std::string>& tags, const std::string& tag) {
  return std::find(tags.begin(), tags.end(), tag) != tags.end();
}

}  // namespace

std::size_t purge_prefill_files(const fs::path& dir, const std::string& tag) {
  std::size_t dropped = 0;
  std::error_code ec;
  for (const auto& f : fs::directory_iterator(dir, ec)) {
    if (f.path().extension() != ".tokens") continue;
    std::vector<int> tokens;
    std::vector<std::string> tags;
    if (read_tokens(f.path(), tokens, tags) && !has_tag(tags, tag)) continue;
    fs::remove(fs::path(f.path()).replace_extension(".state"), ec);  // tagged, or unreadable (never usable)
    fs::remove(f.path(), ec);
    ++dropped;
  }
  return dropped;
}

const char* to_string(CacheTier tier) {
  switch (tier) {
    case CacheTier::gpu: return "gpu";
    case CacheTier::memory: return "memory";
    case CacheTier::disk: return "disk";
    case CacheTier::none: break;
  }
  return "none";
}

std::uint64_t PrefillCache::Tier::bytes() const {
  std::uint64_t n = 0;
  for (const Entry& e : entries) n += e.state->bytes();
  return n;
}

PrefillCache::PrefillCache(std::uint64_t model_fingerprint, PrefillCacheOptions options)
    : fingerprint_(model_fingerprint), options_(std::move(options)) {
  gpu_.budget = options_.gpu_budget_bytes;
  memory_.budget = options_.memory_budget_bytes;
  if (!options_.disk_dir.empty()) fs::create_directories(options_.disk_dir);
  writer_ = std::thread([this] { write_loop(); });
}

PrefillCache::~PrefillCache() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (writer_.joinable()) writer_.join();  // the loop drains pending_ before it ends
}

std::uint64_t PrefillCache::key_of(std::span<const int> prefix) const {
  Fnv1a64 h;
  h.update(&fingerprint_, sizeof fingerprint_);
  h.update(prefix.data(), prefix.size_bytes());
  return h.digest();
}

fs::path PrefillCache::file_of(std::uint64_t key) const { return options_.disk_dir / (hex(fingerprint_) + "-" + hex(key) + ".state"); }

bool PrefillCache::contains(std::span<const int> prefix) const {
  const std::uint64_t key = key_of(prefix);
  auto same = [&](const Entry& e) { return e.key == key && std::equal(e.tokens.begin(), e.tokens.end(), prefix.begin(), prefix.end()); };
  std::lock_guard<std::mutex> lock(mutex_);
  if (std::any_of(gpu_.entries.begin(), gpu_.entries.end(), same)) return true;
  if (std::any_of(memory_.entries.begin(), memory_.entries.end(), same)) return true;
  if (std::any_of(pending_.begin(), pending_.end(), same)) return true;
  return !options_.disk_dir.empty() && fs::exists(file_of(key));
}

bool PrefillCache::restore_from(Tier& tier, Session& session, std::span<const int> prefix, std::uint64_t key) {
  std::shared_ptr<const SavedState> state;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto it = tier.entries.begin(); it != tier.entries.end(); ++it) {
      if (it->key != key || !std::equal(it->tokens.begin(), it->tokens.end(), prefix.begin(), prefix.end())) continue;
      state = it->state;
      tier.entries.splice(tier.entries.begin(), tier.entries, it);  // most recently used
      break;
    }
  }
  if (!state) return false;
  session.reset();
  session.resume(*state);  // outside the lock: the background worker goes on meanwhile
  return true;
}

void PrefillCache::put(Tier& tier, Entry e) {
  if (e.state->bytes() > tier.budget) return;
  std::lock_guard<std::mutex> lock(mutex_);
  tier.entries.push_front(std::move(e));
  std::uint64_t total = tier.bytes();
  while (total > tier.budget) {
    total -= tier.entries.back().state->bytes();
    tier.entries.pop_back();  // still in the tiers below, where they have room
    ++stats_.evicted;
  }
}

std::shared_ptr<const SavedState> PrefillCache::put_on_gpu(const Session& session, const Entry& like) {
  if (gpu_.budget == 0) return nullptr;
  std::shared_ptr<const SavedState> on_gpu;
  try {
    on_gpu = session.save_on_device();
  } catch (const std::exception&) {
    return nullptr;  // out of GPU memory: the host tiers hold it
  }
  if (!on_gpu || on_gpu->bytes() > gpu_.budget) return nullptr;
  put(gpu_, Entry{like.tokens, like.key, on_gpu, like.tags, like.layout, like.backend});
  return on_gpu;
}

CacheLookup PrefillCache::restore_longest(Session& session, std::span<const int> tokens, std::span<const std::size_t> boundaries) {
  std::vector<std::size_t> order(boundaries.begin(), boundaries.end());
  std::sort(order.rbegin(), order.rend());
  auto count = [&](std::size_t PrefillCacheStats::*field) {
    std::lock_guard<std::mutex> lock(mutex_);
    ++(stats_.*field);
  };
  for (std::size_t n : order) {
    if (n == 0 || n > tokens.size()) continue;
    const std::span<const int> prefix = tokens.first(n);
    const std::uint64_t key = key_of(prefix);
    const Entry like{std::vector<int>(prefix.begin(), prefix.end()), key, nullptr, {}, session.backend().saved_layout(),
                     &session.backend()};
    if (restore_from(gpu_, session, prefix, key)) {
      count(&PrefillCacheStats::hits_gpu);
      return {n, CacheTier::gpu};
    }
    if (restore_from(memory_, session, prefix, key)) {
      put_on_gpu(session, like);  // the next question comes from the GPU
      count(&PrefillCacheStats::hits_memory);
      return {n, CacheTier::memory};
    }
    if (options_.disk_dir.empty()) continue;
    std::vector<std::string> tags;
    if (std::shared_ptr<const SavedState> saved = read_from_disk(session, prefix, tags)) {
      Entry e = like;
      e.state = std::move(saved);
      e.tags = std::move(tags);
      put_on_gpu(session, e);  // promoted: the next question on the same documents is fast
      put(memory_, std::move(e));
      count(&PrefillCacheStats::hits_disk);
      return {n, CacheTier::disk};
    }
  }
  count(&PrefillCacheStats::misses);
  session.reset();
  return {};
}

std::shared_ptr<const SavedState> PrefillCache::read_from_disk(Session& session, std::span<const int> prefix,
                                                               std::vector<std::string>& tags) {
  const std::uint64_t key = key_of(prefix);
  const fs::path state = file_of(key), tokens_file = tokens_file_of(state);
  {
    std::unique_lock<std::mutex> lock(mutex_);  // a write of this very prefix may be pending
    ++waiters_;
    wake_.notify_all();
    idle_.wait(lock, [&] { return std::none_of(pending_.begin(), pending_.end(), [&](const Entry& e) { return e.key == key; }); });
    --waiters_;
  }
  if (!fs::exists(state)) return nullptr;
  std::vector<int> stored;
  std::shared_ptr<const SavedState> saved;
  try {
    if (!read_tokens(tokens_file, stored, tags)) throw StateError(tokens_file.string() + ": missing or damaged");
    if (!std::equal(stored.begin(), stored.end(), prefix.begin(), prefix.end())) return nullptr;  // a hash collision: not ours
    saved = read_saved_state(state, session.backend(), fingerprint_);  // checks version, checksums, model and layout
    if (saved->position() != static_cast<std::int64_t>(prefix.size())) throw StateError(state.string() + ": wrong length");
    session.reset();
    session.resume(*saved);
  } catch (const std::exception&) {
    // Damaged, truncated or foreign: never trusted, removed, and the prefix is recomputed.
    std::lock_guard<std::mutex> lock(mutex_);
    std::error_code ec;
    fs::remove(state, ec);
    fs::remove(tokens_file, ec);
    ++stats_.refused_files;
    session.reset();
    return nullptr;
  }
  std::error_code ec;
  fs::last_write_time(state, fs::file_time_type::clock::now(), ec);  // least recently used goes first
  return saved;
}

void PrefillCache::store(const Session& session, std::span<const int> prefix, std::vector<std::string> tags) {
  if (static_cast<std::size_t>(session.position()) != prefix.size()) {
    throw SessionError("prefill cache: the session holds " + std::to_string(session.position()) + " tokens, not the " +
                       std::to_string(prefix.size()) + " of the prefix it would be stored as");
  }
  if (prefix.empty() || contains(prefix)) return;
  Entry e{std::vector<int>(prefix.begin(), prefix.end()), key_of(prefix), nullptr, std::move(tags),
          session.backend().saved_layout(), &session.backend()};
  if (std::shared_ptr<const SavedState> on_gpu = put_on_gpu(session, e)) {
    // The host copy and the file are made in the background, from the GPU copy.
    if (memory_.budget == 0 && options_.disk_dir.empty()) return;
    e.state = std::move(on_gpu);
  } else {
    e.state = session.save();
    put(memory_, e);
    if (options_.disk_dir.empty()) return;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    pending_.push_back(std::move(e));
  }
  wake_.notify_one();
}

void PrefillCache::write_loop() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    wake_.wait(lock, [&] { return stopping_ || (!pending_.empty() && (holds_ == 0 || waiters_ > 0)); });
    if (pending_.empty()) break;  // stopping, and everything done
    Entry e = pending_.front();
    writing_ = true;
    lock.unlock();
    std::string error;
    try {
      if (e.state->on_device()) {  // stored on the GPU: its host copy goes to the memory tier
        e.state = e.backend->copy_to_host(*e.state);
        put(memory_, e);
      }
      const fs::path state = file_of(e.key);
      if (!options_.disk_dir.empty() && e.state->bytes() <= options_.disk_budget_bytes) {
        try {
          write_saved_state(state, *e.state, fingerprint_, e.layout);
          write_tokens(tokens_file_of(state), e.tokens, e.tags);
        } catch (const std::exception&) {
          std::error_code ec;
          fs::remove(state, ec);
          throw;
        }
      }
    } catch (const std::exception& ex) {
      error = ex.what();  // e.g. disk full: the tiers above still hold the state
    }
    lock.lock();
    if (!error.empty()) ++stats_.write_failures, stats_.last_write_error = error;
    if (!options_.disk_dir.empty()) evict_disk();
    pending_.pop_front();
    writing_ = false;
    idle_.notify_all();
  }
}

void PrefillCache::flush() {
  std::unique_lock<std::mutex> lock(mutex_);
  ++waiters_;
  wake_.notify_all();
  idle_.wait(lock, [&] { return pending_.empty() && !writing_; });
  --waiters_;
}

PrefillCache::Hold::Hold(PrefillCache* cache) : cache_(cache) {
  if (!cache_) return;
  std::lock_guard<std::mutex> lock(cache_->mutex_);
  ++cache_->holds_;
}

PrefillCache::Hold::~Hold() {
  if (!cache_) return;
  {
    std::lock_guard<std::mutex> lock(cache_->mutex_);
    --cache_->holds_;
  }
  cache_->wake_.notify_all();
}

void PrefillCache::evict_disk() {  // mutex_ held
  struct File {
    fs::path path;
    fs::file_time_type used;
    std::uint64_t bytes;
  };
  std::vector<File> files;
  std::uint64_t total = 0;
  std::error_code ec;
  for (const auto& f : fs::directory_iterator(options_.disk_dir, ec)) {
    if (f.path().extension() != ".state") continue;
    const std::uint64_t bytes = f.file_size(ec);
    files.push_back({f.path(), f.last_write_time(ec), bytes});
    total += bytes;
  }
  std::sort(files.begin(), files.end(), [](const File& a, const File& b) { return a.used < b.used; });
  for (const File& f : files) {
    if (total <= options_.disk_budget_bytes) break;
    fs::remove(f.path, ec);
    fs::remove(tokens_file_of(f.path), ec);
    total -= f.bytes;
    ++stats_.evicted;
  }
}

std::size_t PrefillCache::purge(const std::string& tag) {
  flush();
  std::lock_guard<std::mutex> lock(mutex_);
  std::size_t dropped = 0;
  for (Tier* tier : {&gpu_, &memory_}) {
    dropped += static_cast<std::size_t>(std::erase_if(tier->entries, [&](const Entry& e) { return has_tag(e.tags, tag); }));
  }
  if (!options_.disk_dir.empty()) dropped += purge_prefill_files(options_.disk_dir, tag);
  stats_.purged += dropped;
  return dropped;
}

void PrefillCache::clear() {
  std::lock_guard<std::mutex> lock(mutex_);
  gpu_.entries.clear();
  memory_.entries.clear();
}

void PrefillCache::clear(CacheTier tier) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (tier == CacheTier::gpu) gpu_.entries.clear();
  if (tier == CacheTier::memory) memory_.entries.clear();
}

PrefillCacheStats PrefillCache::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  PrefillCacheStats s = stats_;
  s.gpu_bytes = gpu_.bytes();
  s.gpu_entries = gpu_.entries.size();
  s.memory_bytes = memory_.bytes();
  s.memory_entries = memory_.entries.size();
  s.pending_writes = pending_.size();
  if (!options_.disk_dir.empty()) {
    std::error_code ec;
    for (const auto& f : fs::directory_iterator(options_.disk_dir, ec)) {
      if (f.path().extension() != ".state") continue;
      s.disk_bytes += f.file_size(ec);
      ++s.disk_entries;
    }
  }
  return s;
}

}  // namespace hd
