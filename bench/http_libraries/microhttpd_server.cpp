// GNU libmicrohttpd (Debian libmicrohttpd-dev) serving the comparison's two routes: its own
// polling threads (epoll where there is one), the same pool size, events through a chunked callback.
//   http_bench_microhttpd PORT
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>

#include "canned_responses.h"

using namespace hd::http_bench;

namespace {

struct Stream {
  int left;
  std::size_t offset = 0;  // into the event being written
};

ssize_t write_events(void* cls, uint64_t, char* buf, size_t max) {
  auto* s = static_cast<Stream*>(cls);
  const std::size_t event = std::strlen(kEvent);
  std::size_t written = 0;
  while (s->left > 0 && written < max) {
    const std::size_t take = std::min(event - s->offset, max - written);
    std::memcpy(buf + written, kEvent + s->offset, take);
    written += take;
    s->offset += take;
    if (s->offset == event) {
      s->offset = 0;
      --s->left;
    }
  }
  if (written == 0) return MHD_CONTENT_READER_END_OF_STREAM;
  return static_cast<ssize_t>(written);
}

MHD_Result answer(void*, MHD_Connection* c, const char* url, const char* method, const char*,
                  const char*, size_t* upload_size, void** state) {
  if (std::strcmp(method, "POST") == 0) {
    // Called first with no data, then with the body in pieces, then once more to answer.
    if (*state == nullptr) {
      *state = c;
      return MHD_YES;
    }
    if (*upload_size != 0) {
      *upload_size = 0;  // the body is read (and, like the others, not looked at)
      return MHD_YES;
    }
    MHD_Response* r = MHD_create_response_from_buffer(std::strlen(kCompletion), const_cast<char*>(kCompletion),
                                                      MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(r, "Content-Type", "application/json");
    const MHD_Result ok = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ok;
  }
  if (std::strcmp(url, "/stream") != 0) return MHD_NO;
  auto* s = new Stream{events_asked(MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "n"))};
  MHD_Response* r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, write_events, s,
                                                      [](void* cls) { delete static_cast<Stream*>(cls); });
  MHD_add_response_header(r, "Content-Type", "text/event-stream");
  const MHD_Result ok = MHD_queue_response(c, MHD_HTTP_OK, r);
  MHD_destroy_response(r);
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(std::atoi(argv[1])));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  MHD_Daemon* d = MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD, 0, nullptr, nullptr, &answer, nullptr,
                                   MHD_OPTION_THREAD_POOL_SIZE, static_cast<unsigned>(kThreads),
                                   MHD_OPTION_SOCK_ADDR, &address, MHD_OPTION_END);
  if (!d) return 1;
  std::printf("ready\n");
  std::fflush(stdout);
  std::getchar();  // runs until its input closes
  MHD_stop_daemon(d);
  return 0;
}
