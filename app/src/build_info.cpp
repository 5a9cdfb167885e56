#include "hd/app/build_info.h"

#include "hd/app/format.h"
#include "hd/app/version.h"
#include "hd/kernels/device.h"

namespace hd {

std::string build_info_text() {
  std::string s;
  s += std::string("HyenaDesk ") + version() + "\n";
  s += std::string("  CPU backend:  yes\n");
  s += std::string("  CUDA backend: ") + (cuda_compiled() ? "compiled (" + cuda_runtime_text() + ")" : "not compiled") +
       "\n";
  DeviceInfo d = query_device(0);
  if (d.available) {
    s += "  GPU:          " + d.name + ", compute " + std::to_string(d.compute_major) + "." +
         std::to_string(d.compute_minor) + ", " + std::to_string(d.multiprocessors) + " SMs, " +
         format_bytes(d.memory_bytes) + ", driver " + std::to_string(d.driver_version / 1000) + "." +
         std::to_string((d.driver_version % 1000) / 10) + "\n";
  } else {
    s += "  GPU:          none (" + d.reason + ")\n";
  }
  return s;
}

}  // namespace hd
