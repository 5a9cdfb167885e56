// The server's life (bind, serve, graceful stop) and its routes. Parsing lives in
// openai_requests, response shapes in openai_responses, the model work in completion_runner, the
// store's routes in store_routes; this file joins them to HTTP.
#include "hd/app/api_server.h"

#include <httplib.h>

#include <condition_variable>
#include <future>
#include <set>
#include <thread>

#include "client_socket.h"
#include "completion_runner.h"
#include "engine_worker.h"
#include "event_channel.h"
#include "openai_requests.h"
#include "openai_responses.h"
#include "store_routes.h"

namespace hd {

using nlohmann::ordered_json;
using server::ApiError;

bool is_loopback_host(const std::string& host) {
  return host == "localhost" || host == "::1" || host == "[::1]" || host.rfind("127.", 0) == 0;
}

struct ApiServer::Impl {
  ApiServerOptions options;
  httplib::Server http;
  std::unique_ptr<server::EngineWorker> worker;
  std::string model_name, embedder_name;
  int port = 0;

  mutable std::mutex mutex;  // stats and in-flight requests
  ApiServerStats stats;
  std::set<std::atomic<bool>*> inflight;  // each running request's cancel flag
  std::condition_variable finished;
  bool stopping = false, served = false;
  std::thread grace_timer;

  void add(std::uint64_t ApiServerStats::*counter, std::uint64_t n = 1) {
    std::lock_guard<std::mutex> lock(mutex);
    stats.*counter += n;
  }
  void account(const server::RunOutput& r) {
    std::lock_guard<std::mutex> lock(mutex);
    ++stats.completions;
    stats.generated_tokens += r.completion_tokens;
    stats.cached_prompt_tokens += r.cached_tokens;
    stats.new_prompt_tokens += r.prompt_tokens - r.cached_tokens;
  }
  void track(std::atomic<bool>* cancel) {
    std::lock_guard<std::mutex> lock(mutex);
    inflight.insert(cancel);
    if (grace_over) cancel->store(true);
  }
  bool is_stopping() {
    std::lock_guard<std::mutex> lock(mutex);
    return stopping;
  }
  void untrack(std::atomic<bool>* cancel) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      inflight.erase(cancel);
    }
    finished.notify_all();
  }
  bool grace_over = false;

  // Runs `f` on the engine thread and waits for its result (or its exception). Given the client's
  // socket and `cancel`, the wait looks at the connection five times a second and sets `cancel`
  // once the client has left, so a whole (non-streamed) answer nobody will read stops early.
  template <class T>
  T on_engine(std::function<T(AnswerService&)> f, socket_t client = INVALID_SOCKET,
              std::atomic<bool>* cancel = nullptr) {
    auto promise = std::make_shared<std::promise<T>>();
    std::future<T> result = promise->get_future();
    if (!worker->try_submit([promise, f](AnswerService& s) {
          try {
            promise->set_value(f(s));
          } catch (...) {
            promise->set_exception(std::current_exception());
          }
        })) {
      throw queue_full();
    }
    if (cancel && client != INVALID_SOCKET) {
      bool left = false;
      while (result.wait_for(std::chrono::milliseconds(200)) != std::future_status::ready) {
        if (!left && server::client_has_left(client)) {
          left = true;
          cancel->store(true);
          add(&ApiServerStats::cancelled_by_disconnect);
        }
      }
    }
    return result.get();
  }

  ApiError queue_full() {
    add(&ApiServerStats::rejected_queue_full);
    return ApiError(503, "server_error", "queue_full",
                    "the server is busy: " + std::to_string(options.queue_limit) +
                        " requests are waiting for the model; retry shortly");
  }
};

namespace {

void write_error(httplib::Response& res, const ApiError& e) {
  res.status = e.status;
  if (e.code == "queue_full") res.set_header("Retry-After", "2");
  res.set_content(server::error_body(e).dump(), "application/json");
}

// Every route's body runs inside this: an ApiError is answered in OpenAI's shape, anything else
// is a 500 with its message (never a crash, never an HTML page).
void guarded(ApiServer::Impl& s, httplib::Response& res, const std::function<void()>& body) {
  try {
    body();
  } catch (const ApiError& e) {
    if (e.status >= 500 && e.code != "queue_full") s.add(&ApiServerStats::errors);  // a full queue is counted apart
    write_error(res, e);
  } catch (const std::exception& e) {
    s.add(&ApiServerStats::errors);
    write_error(res, ApiError(500, "server_error", "", e.what()));
  }
}

// Streams what the engine thread pushes into `channel` as server-sent events; a write that fails
// means the client went away: its generation is cancelled.
void stream_channel(ApiServer::Impl& s, httplib::Response& res, std::shared_ptr<server::EventChannel> channel,
                    std::shared_ptr<std::atomic<bool>> disconnected) {
  res.set_header("Cache-Control", "no-cache");
  res.set_chunked_content_provider(
      "text/event-stream",
      [channel, disconnected](std::size_t, httplib::DataSink& sink) {
        for (;;) {
          const std::optional<std::string> event = channel->next(std::chrono::milliseconds(1000));
          if (!event) {
            sink.done();
            return true;
          }
          // An SSE comment while nothing comes (a long prefill): a client that left is found by it.
          const std::string out = event->empty() ? std::string(": waiting\n\n") : *event;
          if (!sink.write(out.data(), out.size())) {
            disconnected->store(true);
            channel->cancel.store(true);
            return false;
          }
        }
      },
      [&s, channel](bool) { s.untrack(&channel->cancel); });
}

// A generation streamed: `run` makes the output, `piece` shapes each text piece, `finish` the events
// after it. Everything after the 200 goes as events, errors too.
void submit_stream(ApiServer::Impl& s, httplib::Response& res,
                   std::function<server::RunOutput(AnswerService&, const server::OnText&, const std::atomic<bool>*)> run,
                   std::function<std::string(const std::string&)> piece,
                   std::function<void(server::EventChannel&, const server::RunOutput&)> finish) {
  auto channel = std::make_shared<server::EventChannel>();
  auto disconnected = std::make_shared<std::atomic<bool>>(false);
  s.track(&channel->cancel);
  const bool queued = s.worker->try_submit([&s, channel, disconnected, run, piece, finish](AnswerService& service) {
    try {
      const server::RunOutput r = run(service, [&](const std::string& t) {
        if (!t.empty()) channel->push(piece(t));
      }, &channel->cancel);
      s.account(r);
      if (disconnected->load()) s.add(&ApiServerStats::cancelled_by_disconnect);
      finish(*channel, r);
    } catch (const ApiError& e) {
      channel->push(server::sse(server::error_body(e)));
    } catch (const std::exception& e) {
      s.add(&ApiServerStats::errors);
      channel->push(server::sse(server::error_body(ApiError(500, "server_error", "", e.what()))));
    }
    channel->push("data: [DONE]\n\n");
    channel->close();
  });
  if (!queued) {
    s.untrack(&channel->cancel);
    throw s.queue_full();
  }
  stream_channel(s, res, channel, disconnected);
}

// A generation answered whole: `run` on the engine thread, cancelled at shutdown or when the client
// leaves, its output shaped by `shape` (chat or text completion) into the response.
void submit_whole(ApiServer::Impl& s, const httplib::Request& req, httplib::Response& res,
                  std::function<server::RunOutput(AnswerService&, const std::atomic<bool>*)> run,
                  std::function<ordered_json(const std::string& model, const server::RunOutput&)> shape,
                  const std::string& asked_model) {
  auto cancel = std::make_shared<std::atomic<bool>>(false);
  s.track(cancel.get());
  try {
    const ordered_json body = s.on_engine<ordered_json>([&s, run, shape, asked_model, cancel](AnswerService& service) {
      const std::string model = server::check_model(service, asked_model);
      const server::RunOutput r = run(service, cancel.get());
      s.account(r);
      return shape(model, r);
    }, server::client_socket_of(req), cancel.get());
    s.untrack(cancel.get());
    res.set_content(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), "application/json");
  } catch (...) {
    s.untrack(cancel.get());
    throw;
  }
}

void chat_route(ApiServer::Impl& s, const httplib::Request& req, httplib::Response& res) {
  const server::ChatRequest request = server::parse_chat_request(req.body, s.options.max_tokens_limit);
  const std::string id = server::new_id("chatcmpl");
  if (!request.stream) {
    submit_whole(
        s, req, res,
        [request](AnswerService& service, const std::atomic<bool>* cancel) {
          return server::run_chat(service, request, nullptr, cancel);
        },
        [id](const std::string& model, const server::RunOutput& r) { return server::chat_completion(id, model, r); },
        request.model);
    return;
  }
  const std::string model = s.model_name;
  auto first = std::make_shared<bool>(true);
  submit_stream(
      s, res,
      [request](AnswerService& service, const server::OnText& on_text, const std::atomic<bool>* cancel) {
        server::check_model(service, request.model);
        return server::run_chat(service, request, on_text, cancel);
      },
      [id, model, first](const std::string& text) {
        const std::string e = server::sse(server::chat_chunk(id, model, text, *first, nullptr));
        *first = false;
        return e;
      },
      [id, model, first, usage = request.include_usage_in_stream](server::EventChannel& ch, const server::RunOutput& r) {
        if (*first) ch.push(server::sse(server::chat_chunk(id, model, "", true, nullptr)));
        ch.push(server::sse(server::chat_chunk(id, model, "", false, r.finish_reason.c_str())));
        ordered_json last = {{"id", id}, {"object", "chat.completion.chunk"}, {"created", server::unix_now()},
                             {"model", model}, {"choices", ordered_json::array()}};
        if (r.grounded) {
          ordered_json sources = last;
          sources["sources"] = r.sources;
          ch.push(server::sse(sources));
        }
        if (usage) {
          last["usage"] = server::usage_json(r);
          ch.push(server::sse(last));
        }
      });
}

void completion_route(ApiServer::Impl& s, const httplib::Request& req, httplib::Response& res) {
  const server::CompletionRequest request = server::parse_completion_request(req.body, s.options.max_tokens_limit);
  const std::string id = server::new_id("cmpl");
  if (!request.stream) {
    submit_whole(
        s, req, res,
        [request](AnswerService& service, const std::atomic<bool>* cancel) {
          return server::run_completion(service, request, nullptr, cancel);
        },
        [id](const std::string& model, const server::RunOutput& r) { return server::text_completion(id, model, r); },
        request.model);
    return;
  }
  const std::string model = s.model_name;
  submit_stream(
      s, res,
      [request](AnswerService& service, const server::OnText& on_text, const std::atomic<bool>* cancel) {
        server::check_model(service, request.model);
        return server::run_completion(service, request, on_text, cancel);
      },
      [id, model](const std::string& text) { return server::sse(server::text_chunk(id, model, text, nullptr)); },
      [id, model, usage = request.include_usage_in_stream](server::EventChannel& ch, const server::RunOutput& r) {
        ch.push(server::sse(server::text_chunk(id, model, "", r.finish_reason.c_str())));
        if (usage) {
          ch.push(server::sse(ordered_json{{"id", id}, {"object", "text_completion"}, {"created", server::unix_now()},
                                           {"model", model}, {"choices", ordered_json::array()},
                                           {"usage", server::usage_json(r)}}));
        }
      });
}

void embeddings_route(ApiServer::Impl& s, const httplib::Request& req, httplib::Response& res) {
  const server::EmbeddingRequest request = server::parse_embedding_request(req.body, 256);
  const server::Embeddings e = s.on_engine<server::Embeddings>([request](AnswerService& service) {
    return server::run_embeddings(service, request);
  });
  ordered_json data = ordered_json::array();
  for (std::size_t i = 0; i < e.vectors.size(); ++i) {
    const ordered_json vector = request.base64 ? ordered_json(server::base64_floats(e.vectors[i])) : ordered_json(e.vectors[i]);
    data.push_back({{"object", "embedding"}, {"index", i}, {"embedding", vector}});
  }
  res.set_content(ordered_json{{"object", "list"}, {"data", data}, {"model", e.model},
                               {"usage", {{"prompt_tokens", e.tokens}, {"total_tokens", e.tokens}}}}
                      .dump(),
                  "application/json");
}

ordered_json stats_json(const ApiServerStats& st) {
  return {{"requests", st.requests},
          {"completions", st.completions},
          {"rejected_queue_full", st.rejected_queue_full},
          {"cancelled_by_disconnect", st.cancelled_by_disconnect},
          {"cancelled_by_shutdown", st.cancelled_by_shutdown},
          {"errors", st.errors},
          {"generated_tokens", st.generated_tokens},
          {"cached_prompt_tokens", st.cached_prompt_tokens},
          {"new_prompt_tokens", st.new_prompt_tokens},
          {"queued", st.queued},
          {"engine_busy", st.engine_busy}};
}

void add_routes(ApiServer& server, ApiServer::Impl& s) {
  auto route = [&s](void (*f)(ApiServer::Impl&, const httplib::Request&, httplib::Response&)) {
    return [&s, f](const httplib::Request& req, httplib::Response& res) { guarded(s, res, [&] { f(s, req, res); }); };
  };
  s.http.Post("/v1/chat/completions", route(chat_route));
  s.http.Post("/v1/completions", route(completion_route));
  s.http.Post("/v1/embeddings", route(embeddings_route));
  s.http.Get("/v1/models", [&s](const httplib::Request&, httplib::Response& res) {
    ordered_json data = ordered_json::array();
    if (!s.model_name.empty()) data.push_back({{"id", s.model_name}, {"object", "model"}, {"created", 0}, {"owned_by", "hyenadesk"}});
    if (!s.embedder_name.empty()) data.push_back({{"id", s.embedder_name}, {"object", "model"}, {"created", 0}, {"owned_by", "hyenadesk"}});
    res.set_content(ordered_json{{"object", "list"}, {"data", data}}.dump(), "application/json");
  });
  s.http.Get("/v1/hyenadesk/stats", [&server](const httplib::Request&, httplib::Response& res) {
    res.set_content(stats_json(server.stats()).dump(), "application/json");
  });
  s.http.Get("/health", [](const httplib::Request&, httplib::Response& res) { res.set_content("{\"status\":\"ok\"}", "application/json"); });
  server::add_store_routes(s.http, s.options.service, [&s](std::function<ordered_json(AnswerService&)> f) {
    return s.on_engine<ordered_json>(std::move(f));
  }, [&s](httplib::Response& res, const std::function<void()>& body) { guarded(s, res, body); });
}

void add_gatekeeping(ApiServer::Impl& s) {
  s.http.set_pre_routing_handler([&s](const httplib::Request& req, httplib::Response& res) {
    s.add(&ApiServerStats::requests);
    if (s.is_stopping()) {  // the requests in flight finish; new ones go elsewhere or come back later
      write_error(res, ApiError(503, "server_error", "shutting_down", "the server is shutting down"));
      res.set_header("Retry-After", "5");
      return httplib::Server::HandlerResponse::Handled;
    }
    if (!s.options.cors_origin.empty()) {
      res.set_header("Access-Control-Allow-Origin", s.options.cors_origin);
      res.set_header("Access-Control-Allow-Headers", "Authorization, Content-Type");
      res.set_header("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
      if (req.method == "OPTIONS") {
        res.status = 204;
        return httplib::Server::HandlerResponse::Handled;
      }
    }
    if (!s.options.api_key.empty() && req.path != "/health" &&
        req.get_header_value("Authorization") != "Bearer " + s.options.api_key) {
      write_error(res, ApiError(401, "invalid_request_error", "invalid_api_key",
                                "a valid API key is required (Authorization: Bearer KEY, as given to serve --api-key)"));
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  // Errors httplib answers by itself (413 past the body limit, 404, 400 of a broken request) get
  // the same JSON error shape as ours.
  const httplib::Server::HandlerWithResponse on_error = [&s](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    if (res.status == 413) {
      write_error(res, ApiError(413, "invalid_request_error", "request_too_large",
                                "the request body is larger than the server's limit of " +
                                    std::to_string(s.options.max_body_bytes) + " bytes"));
    } else if (res.status == 404) {
      write_error(res, ApiError(404, "invalid_request_error", "not_found", "no such endpoint"));
    } else {
      write_error(res, ApiError(res.status, "invalid_request_error", "", "the request could not be read"));
    }
    return httplib::Server::HandlerResponse::Handled;
  };
  s.http.set_error_handler(on_error);
}

}  // namespace

ApiServer::ApiServer(ApiServerOptions options) : impl_(std::make_unique<Impl>()) {
  Impl& s = *impl_;
  s.options = std::move(options);
  if (!is_loopback_host(s.options.host) && s.options.api_key.empty()) {
    throw ApiServerError("refusing to listen on " + s.options.host +
                         " without --api-key: anyone who can reach it could read your documents (loopback needs none)");
  }
  std::unique_ptr<AnswerService> service;
  try {
    service = std::make_unique<AnswerService>(s.options.service);
  } catch (const std::exception& e) {
    throw ApiServerError(e.what());
  }
  const AnswerResources r = service->resources();
  if (r.model) s.model_name = r.model->name;
  if (r.embedder) s.embedder_name = r.embedder->model_id().substr(0, r.embedder->model_id().find('@'));
  s.worker = std::make_unique<server::EngineWorker>(std::move(service), s.options.queue_limit);
  s.http.set_payload_max_length(s.options.max_body_bytes);
  // Off by default in httplib: each whole answer then waits out the client's delayed ACK (43 ms a
  // request instead of 0.07 ms, bench/http_libraries.py), and streamed tokens are held back too.
  s.http.set_tcp_nodelay(true);
  const int threads = s.options.http_threads;
  s.http.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<std::size_t>(threads)); };
  add_gatekeeping(s);
  add_routes(*this, s);
  s.port = s.options.port == 0 ? s.http.bind_to_any_port(s.options.host)
                               : (s.http.bind_to_port(s.options.host, s.options.port) ? s.options.port : -1);
  if (s.port <= 0) {
    throw ApiServerError("cannot listen on " + s.options.host + ":" + std::to_string(s.options.port) +
                         " (is another program using the port? --port picks another)");
  }
}

ApiServer::~ApiServer() {
  stop();
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    impl_->served = true;  // run() may never have been called: the grace timer has nothing to wait for
  }
  impl_->finished.notify_all();
  if (impl_->grace_timer.joinable()) impl_->grace_timer.join();
  impl_->worker->stop();
}

int ApiServer::port() const { return impl_->port; }

void ApiServer::run() {
  impl_->http.listen_after_bind();  // returns after stop(), once the in-flight requests are done
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    impl_->served = true;
  }
  impl_->finished.notify_all();
  impl_->worker->stop();  // the prefill cache's pending writes finish with the service
}

void ApiServer::stop() {
  Impl& s = *impl_;
  {
    std::lock_guard<std::mutex> lock(s.mutex);
    if (s.stopping) return;
    s.stopping = true;
  }
  // New requests are refused from now on (503); those in flight may finish for the grace period,
  // then whatever still generates is cancelled. Only then does HTTP stop: httplib ends a streamed
  // response where it is when it stops, so stopping first would cut answers off mid-sentence.
  s.grace_timer = std::thread([&s] {
    {
      std::unique_lock<std::mutex> lock(s.mutex);
      const auto grace = std::chrono::duration<double>(s.options.shutdown_grace_seconds);
      if (!s.finished.wait_for(lock, grace, [&] { return s.inflight.empty() || s.served; })) {
        s.grace_over = true;
        for (std::atomic<bool>* cancel : s.inflight) {
          cancel->store(true);
          ++s.stats.cancelled_by_shutdown;
        }
        s.finished.wait_for(lock, std::chrono::seconds(30), [&] { return s.inflight.empty() || s.served; });
      }
    }
    s.http.stop();
  });
}

ApiServerStats ApiServer::stats() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  ApiServerStats st = impl_->stats;
  st.queued = impl_->worker->queued();
  st.engine_busy = impl_->worker->busy();
  return st;
}

}  // namespace hd
