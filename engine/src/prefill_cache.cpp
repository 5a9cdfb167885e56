#include "hd/engine/prefill_cache.h"

#include <algorithm>
#include <cstdio>
#include <fstream>

#include "hd/engine/atomic_file.h"
#include "hd/engine/hash.h"

namespace hd {
namespace {

namespace fs = std::filesystem;

constexpr std::uint64_t kTokensMagic = 0x3153544b50444848ull;  // "HHDPKTS1": a prefix's tokens, version 1

std::string hex(std::uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

// The tokens beside a disk entry: magic, count, ids, FNV-1a of the ids.
void write_tokens(const fs::path& path, std::span<const int> tokens) {
  Fnv1a64 h;
  h.update(tokens.data(), tokens.size_bytes());
  std::string bytes;
  auto put = [&](const void* p, std::size_t n) { bytes.append(static_cast<const char*>(p), n); };
  const std::uint64_t count = tokens.size(), sum = h.digest();
  put(&kTokensMagic, 8);
  put(&count, 8);
  put(tokens.data(), tokens.size_bytes());
  put(&sum, 8);
  write_file_atomically(path, [&](std::ostream& out) { out.write(bytes.data(), static_cast<std::streamsize>(bytes.size())); });
}

bool read_tokens(const fs::path& path, std::vector<int>& tokens) {
  std::ifstream in(path, std::ios::binary);
  std::uint64_t magic = 0, count = 0, sum = 0;
  if (!in.read(reinterpret_cast<char*>(&magic), 8) || magic != kTokensMagic) return false;
  if (!in.read(reinterpret_cast<char*>(&count), 8) || count > (1ull << 28)) return false;
  tokens.resize(count);
  if (!in.read(reinterpret_cast<char*>(tokens.data()), static_cast<std::streamsize>(count * sizeof(int)))) return false;
  if (!in.read(reinterpret_cast<char*>(&sum), 8)) return false;
  Fnv1a64 h;
  h.update(tokens.data(), tokens.size() * sizeof(int));
  return h.digest() == sum;
}

}  // namespace

const char* to_string(CacheTier tier) {
  switch (tier) {
    case CacheTier::memory: return "memory";
    case CacheTier::disk: return "disk";
    case CacheTier::none: break;
  }
  return "none";
}

PrefillCache::PrefillCache(std::uint64_t model_fingerprint, PrefillCacheOptions options)
    : fingerprint_(model_fingerprint), options_(std::move(options)) {
  if (!options_.disk_dir.empty()) fs::create_directories(options_.disk_dir);
}

PrefillCache::~PrefillCache() = default;

std::uint64_t PrefillCache::key_of(std::span<const int> prefix) const {
  Fnv1a64 h;
  h.update(&fingerprint_, sizeof fingerprint_);
  h.update(prefix.data(), prefix.size_bytes());
  return h.digest();
}

fs::path PrefillCache::file_of(std::uint64_t key) const { return options_.disk_dir / (hex(fingerprint_) + "-" + hex(key) + ".state"); }

bool PrefillCache::contains(std::span<const int> prefix) const {
  const std::uint64_t key = key_of(prefix);
  for (const Entry& e : memory_) {
    if (e.key == key && std::equal(e.tokens.begin(), e.tokens.end(), prefix.begin(), prefix.end())) return true;
  }
  return !options_.disk_dir.empty() && fs::exists(file_of(key));
}

CacheLookup PrefillCache::restore_longest(Session& session, std::span<const int> tokens, std::span<const std::size_t> boundaries) {
  std::vector<std::size_t> order(boundaries.begin(), boundaries.end());
  std::sort(order.rbegin(), order.rend());
  for (std::size_t n : order) {
    if (n == 0 || n > tokens.size()) continue;
    const std::span<const int> prefix = tokens.first(n);
    const std::uint64_t key = key_of(prefix);
    for (auto it = memory_.begin(); it != memory_.end(); ++it) {
      if (it->key != key || !std::equal(it->tokens.begin(), it->tokens.end(), prefix.begin(), prefix.end())) continue;
      session.reset();
      session.resume(*it->state);
      memory_.splice(memory_.begin(), memory_, it);  // most recently used
      ++stats_.hits_memory;
      return {n, CacheTier::memory};
    }
    if (!options_.disk_dir.empty() && restore_from_disk(session, prefix)) {
      ++stats_.hits_disk;
      // Promote: the next question on the same documents comes from memory.
      Entry e{std::vector<int>(prefix.begin(), prefix.end()), key, session.save(), 0};
      e.bytes = e.state->bytes();
      memory_.push_front(std::move(e));
      evict_memory();
      return {n, CacheTier::disk};
    }
  }
  ++stats_.misses;
  session.reset();
  return {};
}

bool PrefillCache::restore_from_disk(Session& session, std::span<const int> prefix) {
  const fs::path state = file_of(key_of(prefix)), tokens_file = fs::path(state).replace_extension(".tokens");
  if (!fs::exists(state)) return false;
  std::vector<int> stored;
  try {
    if (!read_tokens(tokens_file, stored)) throw StateError(tokens_file.string() + ": missing or damaged");
    if (!std::equal(stored.begin(), stored.end(), prefix.begin(), prefix.end())) return false;  // a hash collision: not ours
    session.reset();
    session.restore(state);  // checks version, checksum, model fingerprint and shapes
    if (session.position() != static_cast<std::int64_t>(prefix.size())) throw StateError(state.string() + ": wrong length");
  } catch (const std::exception&) {
    // Damaged, truncated or foreign: never trusted, removed, and the prefix is recomputed.
    std::error_code ec;
    fs::remove(state, ec);
    fs::remove(tokens_file, ec);
    ++stats_.refused_files;
    session.reset();
    return false;
  }
  std::error_code ec;
  fs::last_write_time(state, fs::file_time_type::clock::now(), ec);  // least recently used goes first
  return true;
}

void PrefillCache::store(const Session& session, std::span<const int> prefix) {
  if (static_cast<std::size_t>(session.position()) != prefix.size()) {
    throw SessionError("prefill cache: the session holds " + std::to_string(session.position()) + " tokens, not the " +
                       std::to_string(prefix.size()) + " of the prefix it would be stored as");
  }
  if (prefix.empty() || contains(prefix)) return;
  Entry e{std::vector<int>(prefix.begin(), prefix.end()), key_of(prefix), session.save(), 0};
  e.bytes = e.state->bytes();
  if (!options_.disk_dir.empty()) write_to_disk(session, e);
  memory_.push_front(std::move(e));
  evict_memory();
}

void PrefillCache::write_to_disk(const Session& session, const Entry& e) {
  const fs::path state = file_of(e.key);
  session.snapshot(state);  // written atomically by the state writer
  write_tokens(fs::path(state).replace_extension(".tokens"), e.tokens);
  evict_disk();
}

void PrefillCache::evict_memory() {
  std::uint64_t total = 0;
  for (const Entry& e : memory_) total += e.bytes;
  while (total > options_.memory_budget_bytes && !memory_.empty()) {
    total -= memory_.back().bytes;
    memory_.pop_back();  // on disk already, where there is a disk tier
    ++stats_.evicted;
  }
}

void PrefillCache::evict_disk() {
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
    fs::remove(fs::path(f.path).replace_extension(".tokens"), ec);
    total -= f.bytes;
    ++stats_.evicted;
  }
}

void PrefillCache::clear() { memory_.clear(); }

PrefillCacheStats PrefillCache::stats() const {
  PrefillCacheStats s = stats_;
  for (const Entry& e : memory_) s.memory_bytes += e.bytes;
  s.memory_entries = memory_.size();
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
