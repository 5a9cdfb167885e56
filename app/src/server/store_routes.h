#pragma once
// The store's routes: GET /v1/documents (the library), POST /v1/documents (ingest paths on the
// server's machine), GET /v1/search (hybrid search, run on the engine thread that holds the index).
#include <functional>

#include <nlohmann/json.hpp>

#include "hd/app/answer_service.h"

namespace httplib {
class Server;
class Response;
}  // namespace httplib

namespace hd::server {

using OnEngine = std::function<nlohmann::ordered_json(std::function<nlohmann::ordered_json(AnswerService&)>)>;
using Guard = std::function<void(httplib::Response&, const std::function<void()>&)>;

void add_store_routes(httplib::Server& http, const AnswerServiceOptions& service, OnEngine on_engine, Guard guard);

}  // namespace hd::server
