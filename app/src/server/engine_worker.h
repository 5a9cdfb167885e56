#pragma once
// The one thread that runs model calls for the API server, from a bounded queue in arrival order.
// The AnswerService (store handle, model, prefill cache) lives on this thread and is only touched
// from its jobs; HTTP threads submit jobs and wait for, or stream, their results.
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "hd/app/answer_service.h"

namespace hd::server {

class EngineWorker {
 public:
  using Job = std::function<void(AnswerService&)>;

  EngineWorker(std::unique_ptr<AnswerService> service, std::size_t queue_limit);
  ~EngineWorker();  // finishes the job it runs, drops the queued ones (their owners were told)

  // Queues `job`; false when the queue is full (the caller answers 503) or the worker is stopping.
  bool try_submit(Job job);
  std::size_t queued() const;
  bool busy() const { return busy_.load(); }
  void stop();  // no new jobs; the queued ones still run; joins

 private:
  void loop();

  std::unique_ptr<AnswerService> service_;
  std::size_t limit_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> jobs_;
  bool stopping_ = false;
  std::atomic<bool> busy_{false};
  std::thread thread_;
};

}  // namespace hd::server
