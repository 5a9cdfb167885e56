#include "store_routes.h"

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <filesystem>

#include "openai_requests.h"
#include "openai_responses.h"
#include "hd/app/ingest_folder.h"
#include "hd/app/ingest_lock.h"
#include "hd/app/library.h"
#include "hd/app/paths.h"
#include "hd/retrieval/hybrid_search.h"

namespace hd::server {
namespace {

namespace fs = std::filesystem;
using nlohmann::ordered_json;

fs::path store_dir_of(const AnswerServiceOptions& o) { return o.store_dir.empty() ? default_store_dir() : o.store_dir; }

fs::path embedder_dir_of(const AnswerServiceOptions& o) {
  if (!o.embedder_dir.empty()) return o.embedder_dir;
  return (o.models_dir.empty() ? default_models_dir() : o.models_dir) / "all-minilm-l6-v2";
}

ordered_json library_json(const AnswerServiceOptions& o) {
  // A handle of its own: SQLite readers never wait for the engine thread or an ingest.
  const auto store = Store::open(store_dir_of(o));
  ordered_json data = ordered_json::array();
  for (const LibraryEntry& e : list_library(*store)) {
    data.push_back({{"id", e.id}, {"object", "document"}, {"path", e.path}, {"title", e.title}, {"format", e.format},
                    {"status", e.status}, {"error", e.error}, {"chunks", e.chunks}, {"pages", e.pages}});
  }
  return {{"object", "list"}, {"data", data}};
}

struct IngestRequest {
  std::vector<fs::path> paths;
  bool stream = false;  // progress as server-sent events, then the summary
};

IngestRequest ingest_request_of(const std::string& body) {
  const nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw bad_request("the request body must be a JSON object");
  IngestRequest out;
  auto take = [&](const nlohmann::json& p) {
    if (!p.is_string() || p.get<std::string>().empty()) throw bad_request("paths must be non-empty strings", "paths");
    const fs::path path = fs::absolute(p.get<std::string>()).lexically_normal();
    if (!fs::exists(path)) {
      throw ApiError(404, "invalid_request_error", "path_not_found", path.string() + " does not exist on the server's machine",
                     "paths");
    }
    out.paths.push_back(path);
  };
  if (j.contains("path")) take(j["path"]);
  if (j.contains("paths")) {
    if (!j["paths"].is_array()) throw bad_request("paths must be a list", "paths");
    for (const auto& p : j["paths"]) take(p);
  }
  if (out.paths.empty()) throw bad_request("give \"path\" or \"paths\": files or folders to add", "paths");
  if (j.contains("stream")) {
    if (!j["stream"].is_boolean()) throw bad_request("stream must be true or false", "stream");
    out.stream = j["stream"].get<bool>();
  }
  return out;
}

ordered_json ingest_json(const AnswerServiceOptions& o, const std::vector<fs::path>& paths,
                         std::function<void(const IngestProgress&)> on_progress = {},
                         const std::atomic<bool>* cancel = nullptr) {
  const auto store = Store::open(store_dir_of(o));
  std::unique_ptr<TextEmbedder> embedder;
  if (fs::exists(embedder_dir_of(o) / "model.safetensors")) embedder = TextEmbedder::open(embedder_dir_of(o), o.embedder_device);
  IngestOptions options;
  options.count_tokens = [](std::string_view s) { return (s.size() + 3) / 4; };  // chunk sizes, as the app
  options.embedder = embedder.get();
  options.on_progress = std::move(on_progress);
  options.cancel = cancel;
  IngestSummary sum;
  try {
    sum = ingest_paths(*store, paths, options);
  } catch (const StoreBusy& e) {
    throw ApiError(409, "invalid_request_error", "store_busy", e.what());
  }
  ordered_json failures = ordered_json::array(), skipped = ordered_json::array();
  for (const auto& [path, why] : sum.failures) failures.push_back({{"path", path}, {"reason", why}});
  for (const auto& [path, kind] : sum.skipped) skipped.push_back({{"path", path}, {"kind", kind}});
  return {{"object", "ingest.summary"}, {"indexed", sum.indexed}, {"unchanged", sum.unchanged},
          {"duplicates", sum.duplicates}, {"failed", sum.failed}, {"failures", failures}, {"skipped", skipped},
          {"cancelled", cancel && cancel->load()}, {"seconds", sum.seconds}};
}

ordered_json progress_json(const IngestProgress& p) {
  return {{"object", "ingest.progress"}, {"files_done", p.files_done}, {"files_total", p.files_total},
          {"bytes_done", p.bytes_done}, {"bytes_total", p.bytes_total}, {"chunks", p.chunks},
          {"current", p.current}, {"seconds", p.seconds}};
}

// The ingest runs while its response is written (on this connection's thread): an event when a
// file starts or ends and at most four a second inside a large one, then the summary. A write that
// fails means the client left: the ingest is cancelled (what was stored whole stays; the file being
// read is rolled back, as a cancel in the app does).
void stream_ingest(const AnswerServiceOptions& o, std::vector<fs::path> paths, httplib::Response& res) {
  res.set_header("Cache-Control", "no-cache");
  res.set_chunked_content_provider("text/event-stream", [o, paths](std::size_t, httplib::DataSink& sink) {
    std::atomic<bool> cancel{false};
    std::size_t last_files = static_cast<std::size_t>(-1);
    auto last_sent = std::chrono::steady_clock::now();
    auto send = [&](const std::string& event) {
      if (!cancel.load() && !sink.write(event.data(), event.size())) cancel.store(true);
    };
    try {
      const ordered_json summary = ingest_json(o, paths, [&](const IngestProgress& p) {
        const auto now = std::chrono::steady_clock::now();
        if (p.files_done == last_files && now - last_sent < std::chrono::milliseconds(250)) return;
        last_files = p.files_done;
        last_sent = now;
        send(sse(progress_json(p)));
      }, &cancel);
      send(sse(summary));
    } catch (const ApiError& e) {
      send(sse(error_body(e)));
    } catch (const std::exception& e) {
      send(sse(error_body(ApiError(500, "server_error", "", e.what()))));
    }
    if (cancel.load()) return false;
    send("data: [DONE]\n\n");
    sink.done();
    return true;
  });
}

ordered_json search_json(AnswerService& service, const std::string& query, int k) {
  const AnswerResources r = service.resources();
  HybridOptions options;
  options.k = k;
  ordered_json data = ordered_json::array();
  for (const HybridHit& h : hybrid_search(*r.store, r.index, r.embedder, query, options)) {
    data.push_back({{"document", h.chunk.title}, {"path", h.chunk.path}, {"section", h.chunk.section_path},
                    {"page_first", h.chunk.page_first}, {"page_last", h.chunk.page_last}, {"text", h.chunk.text},
                    {"score", h.chunk.score}});
  }
  return {{"object", "list"}, {"query", query}, {"data", data}};
}

}  // namespace

void add_store_routes(httplib::Server& http, const AnswerServiceOptions& service, OnEngine on_engine, Guard guard) {
  http.Get("/v1/documents", [service, guard](const httplib::Request&, httplib::Response& res) {
    guard(res, [&] { res.set_content(library_json(service).dump(), "application/json"); });
  });
  http.Post("/v1/documents", [service, guard](const httplib::Request& req, httplib::Response& res) {
    guard(res, [&] {
      IngestRequest r = ingest_request_of(req.body);
      if (r.stream) {
        stream_ingest(service, std::move(r.paths), res);
      } else {
        res.set_content(ingest_json(service, r.paths).dump(), "application/json");
      }
    });
  });
  http.Get("/v1/search", [on_engine, guard](const httplib::Request& req, httplib::Response& res) {
    guard(res, [&] {
      const std::string q = req.get_param_value("q");
      if (q.empty()) throw bad_request("q (the query) is required", "q");
      int k = 5;
      if (req.has_param("k")) {
        try {
          k = std::stoi(req.get_param_value("k"));
        } catch (const std::exception&) {
          k = 0;
        }
        if (k < 1 || k > 100) throw bad_request("k must be 1 to 100", "k");
      }
      res.set_content(on_engine([q, k](AnswerService& s) { return search_json(s, q, k); }).dump(), "application/json");
    });
  });
}

}  // namespace hd::server
