#pragma once
// Where HyenaDesk keeps its store and models unless told otherwise: under
// $HYENADESK_HOME, else $XDG_DATA_HOME/hyenadesk, else ~/.local/share/hyenadesk.
#include <filesystem>

namespace hd {

std::filesystem::path data_home();
std::filesystem::path default_store_dir();   // data_home()/store
std::filesystem::path default_models_dir();  // data_home()/models

}  // namespace hd
