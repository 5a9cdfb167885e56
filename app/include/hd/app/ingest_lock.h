#pragma once
// One writer per store: an ingest holds an advisory lock (flock) on <store>/ingest.lock, which
// names its process. A second ingest learns who is writing and waits or stops; readers (search,
// ask, the app's library view) never take it, and the kernel drops it if the writer dies.
#include <atomic>
#include <filesystem>
#include <stdexcept>

namespace hd {

class StoreBusy : public std::runtime_error {
 public:
  StoreBusy(const std::filesystem::path& store_dir, long pid);
  long pid() const { return pid_; }

 private:
  long pid_;
};

class IngestLock {
 public:
  // Takes the lock. Held elsewhere: waits until it is free when `wait` (or until `cancel` is set:
  // then held() is false), else throws StoreBusy naming the holder's pid (0 when unreadable).
  IngestLock(const std::filesystem::path& store_dir, bool wait, const std::atomic<bool>* cancel = nullptr);
  ~IngestLock();
  IngestLock(const IngestLock&) = delete;
  IngestLock& operator=(const IngestLock&) = delete;
  bool held() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

}  // namespace hd
