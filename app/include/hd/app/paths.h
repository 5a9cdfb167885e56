#pragma once
// Where HyenaDesk keeps its store and models unless told otherwise: under
// $HYENADESK_HOME, else $XDG_DATA_HOME/hyenadesk, else ~/.local/share/hyenadesk.
#include <filesystem>
#include <string>

namespace hd {

std::filesystem::path data_home();
std::filesystem::path default_store_dir();   // data_home()/store
std::filesystem::path default_models_dir();  // data_home()/models
// The prefill cache's disk tier of a store, and the tag its states carry for each document they hold
// (ingest purges a changed or removed document's states by it).
std::filesystem::path prefill_cache_dir(const std::filesystem::path& store_dir);  // store_dir/prefill-cache
std::string document_cache_tag(const std::string& path);

}  // namespace hd
