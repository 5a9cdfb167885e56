// CivetWeb (Debian libcivetweb-dev) serving the comparison's two routes: the same worker threads,
// keep-alive and TCP_NODELAY on, events as chunks.
//   http_bench_civetweb PORT
#include <civetweb.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "canned_responses.h"

using namespace hd::http_bench;

namespace {

int completion(mg_connection* c, void*) {
  char sink[16384];
  while (mg_read(c, sink, sizeof sink) > 0) {
  }
  mg_printf(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
            std::strlen(kCompletion));
  mg_write(c, kCompletion, std::strlen(kCompletion));
  return 200;
}

int stream(mg_connection* c, void*) {
  const mg_request_info* info = mg_get_request_info(c);
  char n[16] = "";
  if (info->query_string) mg_get_var(info->query_string, std::strlen(info->query_string), "n", n, sizeof n);
  const int events = events_asked(n[0] ? n : nullptr);
  mg_printf(c, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n");
  for (int i = 0; i < events; ++i)
    if (mg_send_chunk(c, kEvent, static_cast<unsigned>(std::strlen(kEvent))) < 0) return 200;
  mg_send_chunk(c, "", 0);
  return 200;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  const std::string port = std::string("127.0.0.1:") + argv[1];
  const std::string threads = std::to_string(kThreads);
  const char* options[] = {"listening_ports", port.c_str(), "num_threads", threads.c_str(),
                           "enable_keep_alive", "yes", "tcp_nodelay", "1", nullptr};
  mg_init_library(0);
  mg_callbacks callbacks{};
  mg_context* ctx = mg_start(&callbacks, nullptr, options);
  if (!ctx) return 1;
  mg_set_request_handler(ctx, "/v1/chat/completions", completion, nullptr);
  mg_set_request_handler(ctx, "/stream", stream, nullptr);
  std::printf("ready\n");
  std::fflush(stdout);
  std::getchar();  // runs until its input closes
  mg_stop(ctx);
  mg_exit_library();
  return 0;
}
