#pragma once
// `hyenadesk serve`: the OpenAI HTTP API (models, chat and text completions, embeddings) over the
// same model, store and prefill cache as the CLI and the desktop app, plus document extensions:
// a chat request may be grounded in the store (`"documents"`) and then returns the sources it cited
// with their pages; GET/POST /v1/documents and GET /v1/search reach the store itself.
//
// One engine thread runs every model call, in arrival order, from a bounded queue (past it: 503
// with Retry-After); HTTP threads parse, validate and stream. A client that goes away cancels its
// generation. Bound to loopback unless an API key is set.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "hd/app/answer_service.h"

namespace hd {

struct ApiServerOptions {
  std::string host = "127.0.0.1";
  int port = 4750;                 // 0: any free port (port() tells which)
  std::string api_key;             // empty: none asked for (loopback only)
  std::string cors_origin;         // empty: no CORS headers
  AnswerServiceOptions service;    // store, models, model, device, cache budgets
  std::size_t queue_limit = 8;     // requests waiting for the engine, besides the one it runs
  std::size_t max_body_bytes = 4u << 20;
  int max_tokens_limit = 4096;     // the most max_tokens a request may ask for
  // cpp-httplib gives each open connection a thread: an idle keep-alive client holds one for up to
  // 5 s, so the pool is larger than the engine needs (bench/http_libraries.py: 48 idle connections
  // delay the next client 4.7 s at 32 threads, 16 do not).
  int http_threads = 32;
  double shutdown_grace_seconds = 30;  // in-flight requests may finish this long after stop()
};

// What the server has done, for its own /v1/hyenadesk/stats and the tests.
struct ApiServerStats {
  std::uint64_t requests = 0, completions = 0, rejected_queue_full = 0, cancelled_by_disconnect = 0,
                cancelled_by_shutdown = 0, errors = 0, generated_tokens = 0, cached_prompt_tokens = 0,
                new_prompt_tokens = 0;
  std::size_t queued = 0;
  bool engine_busy = false;
};

// A configuration the server refuses to start with (binding beyond loopback without a key, a
// port in use, an unusable model): the message says what and how to fix it.
class ApiServerError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class ApiServer {
 public:
  explicit ApiServer(ApiServerOptions options);  // opens store and model; throws ApiServerError
  ~ApiServer();                                  // stop() if still running
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  int port() const;              // the bound port
  void run();                    // serves until stop(); returns after the in-flight requests end
  // From any thread or a signal-watching one: stops accepting, lets in-flight requests finish for
  // the grace period, then cancels what still runs. The prefill cache's pending writes complete.
  void stop();
  ApiServerStats stats() const;

  struct Impl;  // defined in api_server.cpp; named here for its route functions

 private:
  std::unique_ptr<Impl> impl_;
};

// Loopback addresses ("127.0.0.1", "::1", "localhost", 127.x.y.z).
bool is_loopback_host(const std::string& host);

}  // namespace hd
