#include <unistd.h>

#include <cstdio>

#include "hd/ingest/document.h"

namespace hd {
namespace {

// Resident memory of this process (Linux /proc; 0 where unreadable, which disables the check).
std::uint64_t resident_bytes() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f) return 0;
  unsigned long long size = 0, resident = 0;
  const int got = std::fscanf(f, "%llu %llu", &size, &resident);
  std::fclose(f);
  return got == 2 ? resident * static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE)) : 0;
}

}  // namespace

ReadWatch::ReadWatch(std::filesystem::path path, const ReadLimits& limits)
    : path_(std::move(path)),
      max_seconds_(limits.max_seconds),
      max_growth_(limits.max_memory_growth_bytes),
      cancel_(limits.cancel),
      start_(std::chrono::steady_clock::now()),
      resident_at_start_(limits.max_memory_growth_bytes ? resident_bytes() : 0) {}

void ReadWatch::check() {
  if (cancel_ && cancel_->load(std::memory_order_relaxed)) throw ReadCancelled(path_.string() + ": cancelled");
  // The clock and /proc cost little, but a reader may call this per XML node: look at the first
  // call and every 64th after it.
  if ((calls_++ & 63u) != 0) return;
  if (max_seconds_ > 0) {
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    if (seconds > max_seconds_) {
      throw ReadError(path_.string() + ": reading took longer than the per-file budget of " +
                      std::to_string(static_cast<long long>(max_seconds_)) + " s (refused; --file-seconds raises it)");
    }
  }
  if (max_growth_ && resident_at_start_) {
    const std::uint64_t now = resident_bytes();
    if (now > resident_at_start_ && now - resident_at_start_ > max_growth_) {
      throw ReadError(path_.string() + ": reading it needed more than the per-file memory budget of " +
                      std::to_string(max_growth_ >> 20) + " MiB (refused; --file-memory-mib raises it)");
    }
  }
}

}  // namespace hd
