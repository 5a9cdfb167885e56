#include "store_routes.h"

#include <httplib.h>

#include <filesystem>

#include "openai_requests.h"
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

std::vector<fs::path> paths_of(const std::string& body) {
  const nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw bad_request("the request body must be a JSON object");
  std::vector<fs::path> out;
  auto take = [&](const nlohmann::json& p) {
    if (!p.is_string() || p.get<std::string>().empty()) throw bad_request("paths must be non-empty strings", "paths");
    const fs::path path = fs::absolute(p.get<std::string>()).lexically_normal();
    if (!fs::exists(path)) {
      throw ApiError(404, "invalid_request_error", "path_not_found", path.string() + " does not exist on the server's machine",
                     "paths");
    }
    out.push_back(path);
  };
  if (j.contains("path")) take(j["path"]);
  if (j.contains("paths")) {
    if (!j["paths"].is_array()) throw bad_request("paths must be a list", "paths");
    for (const auto& p : j["paths"]) take(p);
  }
  if (out.empty()) throw bad_request("give \"path\" or \"paths\": files or folders to add", "paths");
  return out;
}

ordered_json ingest_json(const AnswerServiceOptions& o, const std::vector<fs::path>& paths) {
  const auto store = Store::open(store_dir_of(o));
  std::unique_ptr<TextEmbedder> embedder;
  if (fs::exists(embedder_dir_of(o) / "model.safetensors")) embedder = TextEmbedder::open(embedder_dir_of(o), o.embedder_device);
  IngestOptions options;
  options.count_tokens = [](std::string_view s) { return (s.size() + 3) / 4; };  // chunk sizes, as the app
  options.embedder = embedder.get();
  IngestSummary sum;
  try {
    sum = ingest_paths(*store, paths, options);
  } catch (const StoreBusy& e) {
    throw ApiError(409, "invalid_request_error", "store_busy", e.what());
  }
  ordered_json failures = ordered_json::array(), skipped = ordered_json::array();
  for (const auto& [path, why] : sum.failures) failures.push_back({{"path", path}, {"reason", why}});
  for (const auto& [path, kind] : sum.skipped) skipped.push_back({{"path", path}, {"kind", kind}});
  return {{"indexed", sum.indexed}, {"unchanged", sum.unchanged}, {"duplicates", sum.duplicates}, {"failed", sum.failed},
          {"failures", failures}, {"skipped", skipped}, {"seconds", sum.seconds}};
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
    guard(res, [&] { res.set_content(ingest_json(service, paths_of(req.body)).dump(), "application/json"); });
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
