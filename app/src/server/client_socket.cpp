#include "client_socket.h"

#include <dirent.h>
#include <netdb.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdlib>
#include <memory>

namespace hd::server {
namespace {

// Numeric host and port of a socket address, as httplib writes them into a Request.
bool numeric(const sockaddr_storage& address, socklen_t length, std::string& host, int& port) {
  char h[NI_MAXHOST], p[NI_MAXSERV];
  if (getnameinfo(reinterpret_cast<const sockaddr*>(&address), length, h, sizeof h, p, sizeof p,
                  NI_NUMERICHOST | NI_NUMERICSERV) != 0)
    return false;
  host = h;
  port = std::atoi(p);
  return true;
}

bool is_connection_of(int fd, const httplib::Request& req) {
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  std::string host;
  int port = -1;
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) return false;  // not a connected socket
  if (!numeric(address, length, host, port) || port != req.remote_port || host != req.remote_addr) return false;
  length = sizeof address;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) return false;
  return numeric(address, length, host, port) && port == req.local_port && host == req.local_addr;
}

}  // namespace

socket_t client_socket_of(const httplib::Request& req) {
  std::unique_ptr<DIR, int (*)(DIR*)> fds(opendir("/proc/self/fd"), closedir);
  if (!fds) return INVALID_SOCKET;
  while (const dirent* entry = readdir(fds.get())) {
    char* end = nullptr;
    const long fd = std::strtol(entry->d_name, &end, 10);
    if (end == entry->d_name || *end != '\0') continue;  // "." and ".."
    if (is_connection_of(static_cast<int>(fd), req)) return static_cast<socket_t>(fd);
  }
  return INVALID_SOCKET;
}

bool client_has_left(socket_t sock) {
  if (sock == INVALID_SOCKET) return false;
  char byte;
  const ssize_t n = recv(sock, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n > 0) return false;
  if (n == 0) return true;  // orderly close
  return errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
}

}  // namespace hd::server
