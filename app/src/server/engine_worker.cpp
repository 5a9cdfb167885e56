#include "engine_worker.h"

namespace hd::server {

EngineWorker::EngineWorker(std::unique_ptr<AnswerService> service, std::size_t queue_limit)
    : service_(std::move(service)), limit_(queue_limit), thread_([this] { loop(); }) {}

EngineWorker::~EngineWorker() { stop(); }

bool EngineWorker::try_submit(Job job) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_ || jobs_.size() >= limit_) return false;
    jobs_.push_back(std::move(job));
  }
  wake_.notify_one();
  return true;
}

std::size_t EngineWorker::queued() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return jobs_.size();
}

void EngineWorker::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void EngineWorker::loop() {
  for (;;) {
    Job job;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty()) return;  // stopping, and everything queued has run
      job = std::move(jobs_.front());
      jobs_.pop_front();
      busy_ = true;
    }
    job(*service_);  // a job reports its own errors to its request
    busy_ = false;
  }
}

}  // namespace hd::server
