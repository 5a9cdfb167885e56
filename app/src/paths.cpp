#include "hd/app/paths.h"

#include <cstdlib>

namespace hd {

std::filesystem::path data_home() {
  if (const char* h = std::getenv("HYENADESK_HOME"); h && *h) return h;
  if (const char* x = std::getenv("XDG_DATA_HOME"); x && *x) return std::filesystem::path(x) / "hyenadesk";
  if (const char* home = std::getenv("HOME"); home && *home) {
    return std::filesystem::path(home) / ".local" / "share" / "hyenadesk";
  }
  return std::filesystem::current_path() / ".hyenadesk";
}

std::filesystem::path default_store_dir() { return data_home() / "store"; }
std::filesystem::path default_models_dir() { return data_home() / "models"; }

std::filesystem::path prefill_cache_dir(const std::filesystem::path& store_dir) { return store_dir / "prefill-cache"; }

std::string document_cache_tag(const std::string& path) { return "document:" + path; }

}  // namespace hd
