#pragma once
// Server-sent events handed from the engine thread (which makes them as tokens come) to the HTTP
// thread (which writes them to the client): a queue with an end, and a cancel flag the HTTP side
// sets when the client has gone, which the generation loop reads.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <string>

namespace hd::server {

class EventChannel {
 public:
  void push(std::string event);  // one whole "data: ...\n\n" block
  void close();                  // nothing more will come
  // The next event; nullopt when closed and drained; "" when `wait` passed without one.
  std::optional<std::string> next(std::chrono::milliseconds wait);

  std::atomic<bool> cancel{false};

 private:
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::string> events_;
  bool closed_ = false;
};

}  // namespace hd::server
