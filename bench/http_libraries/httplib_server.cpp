// cpp-httplib (Debian libcpp-httplib-dev) serving the comparison's two routes, configured as
// `hyenadesk serve` configures it (its thread pool, TCP_NODELAY on), or with the library's defaults
// but the pool (TCP_NODELAY off: each answer then waits out the client's delayed ACK).
//   http_bench_httplib PORT [defaults]
#include <httplib.h>

#include <cstdio>

#include "canned_responses.h"

using namespace hd::http_bench;

int main(int argc, char** argv) {
  if (argc != 2 && argc != 3) return 2;
  httplib::Server http;
  if (argc == 2) http.set_tcp_nodelay(true);
  http.new_task_queue = [] { return new httplib::ThreadPool(kThreads); };
  http.Post("/v1/chat/completions", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(kCompletion, "application/json");
  });
  http.Get("/stream", [](const httplib::Request& req, httplib::Response& res) {
    const int n = events_asked(req.has_param("n") ? req.get_param_value("n").c_str() : nullptr);
    res.set_chunked_content_provider("text/event-stream", [n](std::size_t, httplib::DataSink& sink) {
      for (int i = 0; i < n; ++i)
        if (!sink.write(kEvent, std::strlen(kEvent))) return false;
      sink.done();
      return true;
    });
  });
  if (!http.bind_to_port("127.0.0.1", std::atoi(argv[1]))) return 1;
  std::printf("ready\n");
  std::fflush(stdout);
  return http.listen_after_bind() ? 0 : 1;
}
