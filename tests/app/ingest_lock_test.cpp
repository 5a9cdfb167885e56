// One writer per store: an ingest holds an advisory lock on <store>/ingest.lock. A second ingest,
// from another process, is told who is writing and stores nothing (the CLI exits 75), or waits;
// waiting ends on cancel; a writer that dies releases the lock with it.
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "hd/app/ingest_folder.h"
#include "hd/app/ingest_lock.h"
#include "support/temp_dir.h"

extern char** environ;

namespace hd {
namespace {

namespace fs = std::filesystem;

bool lock_is_free(const fs::path& file) {
  const int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  const bool free = ::flock(fd, LOCK_EX | LOCK_NB) == 0;
  ::close(fd);
  return free;
}

// Another process holding the store's lock: util-linux's flock(1) running sleep.
class OtherWriter {
 public:
  explicit OtherWriter(const fs::path& store_dir) {
    const std::string file = (store_dir / "ingest.lock").string();
    // --close: the lock stays with flock itself, not with sleep; its own process group, so that
    // die() ends sleep too (else it would outlive the test holding the test's output open).
    const char* argv[] = {"flock", "--close", file.c_str(), "sleep", "600", nullptr};
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attr, 0);
    EXPECT_EQ(posix_spawnp(&pid_, "flock", nullptr, &attr, const_cast<char* const*>(argv), environ), 0);
    posix_spawnattr_destroy(&attr);
    // Wait for it to hold the lock (an event, not a delay: up to a minute on a loaded machine).
    for (int i = 0; i < 600 && lock_is_free(file); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_FALSE(lock_is_free(file)) << "flock(1) did not take the lock";
  }
  void die() {
    if (pid_ > 0) {
      ::kill(-pid_, SIGKILL);  // flock and its sleep
      ::waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
  }
  ~OtherWriter() { die(); }

 private:
  pid_t pid_ = -1;
};

class IngestLockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(dir_ / "docs");
    std::ofstream(dir_ / "docs" / "a.md") << "# A\n\nThe pump in hall 2 was serviced on Monday.\n";
    store_ = Store::open(dir_ / "store");
    options_.count_tokens = [](std::string_view s) { return (s.size() + 3) / 4; };
  }
  test::TempDir dir_;
  std::unique_ptr<Store> store_;
  IngestOptions options_;
};

TEST_F(IngestLockTest, ASecondIngestIsToldAnotherIsWritingAndStoresNothing) {
  OtherWriter other(store_->dir());
  EXPECT_THROW(ingest_paths(*store_, {dir_ / "docs"}, options_), StoreBusy);
  EXPECT_EQ(store_->document_count(), 0);
  // The command line says so and exits 75 (try again later).
  const fs::path err = dir_ / "stderr.txt";
  const std::string cmd = std::string(HD_HYENADESK) + " ingest " + (dir_ / "docs").string() + " --store " +
                          store_->dir().string() + " --no-embed >/dev/null 2>" + err.string();
  const int status = std::system(cmd.c_str());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 75);
  std::stringstream text;
  text << std::ifstream(err).rdbuf();
  EXPECT_NE(text.str().find("another ingest is writing the store " + store_->dir().string()), std::string::npos) << text.str();
  other.die();  // the kernel releases a dead writer's lock: no stale lock file blocks the next run
  const IngestSummary s = ingest_paths(*store_, {dir_ / "docs"}, options_);
  EXPECT_EQ(s.indexed, 1u);
}

TEST_F(IngestLockTest, WaitingForTheWriterEndsOnCancelWithNothingStored) {
  OtherWriter other(store_->dir());
  std::atomic<bool> cancel{false};
  options_.cancel = &cancel;
  options_.wait_for_writer = true;
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    cancel = true;
  });
  const IngestSummary s = ingest_paths(*store_, {dir_ / "docs"}, options_);
  stopper.join();
  EXPECT_TRUE(s.cancelled);
  EXPECT_EQ(store_->document_count(), 0);
}

TEST_F(IngestLockTest, TheWritingProcessIsNamed) {
  const IngestLock mine(store_->dir(), false);  // as an ingest in this process would hold it
  try {
    IngestLock second(store_->dir(), false);
    FAIL() << "a second writer got the lock";
  } catch (const StoreBusy& e) {
    EXPECT_EQ(e.pid(), static_cast<long>(::getpid()));
    EXPECT_NE(std::string(e.what()).find("(pid " + std::to_string(::getpid()) + ")"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace hd
