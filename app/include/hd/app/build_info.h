#pragma once
// What this build and this machine offer: version, backends, GPU. Shown by
// `hyenadesk doctor` and the desktop program's About box.
#include <string>

namespace hd {

std::string build_info_text();

}  // namespace hd
