#include "event_channel.h"

namespace hd::server {

void EventChannel::push(std::string event) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    events_.push_back(std::move(event));
  }
  ready_.notify_one();
}

void EventChannel::close() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    closed_ = true;
  }
  ready_.notify_one();
}

std::optional<std::string> EventChannel::next(std::chrono::milliseconds wait) {
  std::unique_lock<std::mutex> lock(mutex_);
  ready_.wait_for(lock, wait, [&] { return closed_ || !events_.empty(); });
  if (!events_.empty()) {
    std::string e = std::move(events_.front());
    events_.pop_front();
    return e;
  }
  if (closed_) return std::nullopt;
  return std::string();
}

}  // namespace hd::server
