#pragma once

namespace hd {
// The product version, e.g. "0.1.0" (from the top-level CMakeLists.txt).
const char* version();
}  // namespace hd
