// Lets a request handler see whether its client is still connected while it waits for the engine.
// cpp-httplib 0.11 (Debian 12) tells a handler nothing about its connection until it writes, and
// hands it no socket, so a non-streamed answer would run to its last token for a client that left.
// The handler finds its connection's socket by the addresses httplib reports, and peeks at it.
#pragma once

#include <httplib.h>

namespace hd::server {

// The socket of the connection `req` came on, found among this process's open descriptors by its
// local and remote address and port (unique while the connection lives: httplib keeps it open
// until the handler returns). INVALID_SOCKET when none matches.
socket_t client_socket_of(const httplib::Request& req);

// True once the peer has closed or reset the connection. Data waiting (a pipelined request) or
// nothing to read yet both mean it is still there; the peek consumes nothing.
bool client_has_left(socket_t sock);

}  // namespace hd::server
