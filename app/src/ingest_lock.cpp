#include "hd/app/ingest_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace hd {

StoreBusy::StoreBusy(const std::filesystem::path& store_dir, long pid)
    : std::runtime_error("another ingest" + (pid > 0 ? " (pid " + std::to_string(pid) + ")" : std::string()) +
                         " is writing the store " + store_dir.string()),
      pid_(pid) {}

namespace {
long read_pid(int fd) {
  char buf[32] = {};
  const ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
  return n > 0 ? std::strtol(buf, nullptr, 10) : 0;
}
}  // namespace

IngestLock::IngestLock(const std::filesystem::path& store_dir, bool wait, const std::atomic<bool>* cancel) {
  const std::filesystem::path file = store_dir / "ingest.lock";
  fd_ = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) throw std::runtime_error(file.string() + ": cannot open: " + std::strerror(errno));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    if (err != EWOULDBLOCK) {
      ::close(fd_);
      throw std::runtime_error(file.string() + ": cannot lock: " + std::strerror(err));
    }
    if (!wait) {
      const long holder = read_pid(fd_);
      ::close(fd_);
      throw StoreBusy(store_dir, holder);
    }
    // Polled, not blocking: a Ctrl-C (or the app's Cancel) must end the wait.
    while (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      if (cancel && cancel->load()) {
        ::close(fd_);
        fd_ = -1;
        return;
      }
      ::usleep(100 * 1000);
    }
  }
  // Ours now: say who writes (for the next one to report).
  const std::string pid = std::to_string(static_cast<long>(::getpid())) + "\n";
  if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, pid.data(), pid.size(), 0) < 0) {
    // The lock holds without the note; a second ingest then reports no pid.
  }
}

IngestLock::~IngestLock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the lock
}

}  // namespace hd
