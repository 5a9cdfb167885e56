#include "hd/engine/cpu_threads.h"

#include <unistd.h>

#include <cstdlib>

namespace hd {

void use_passive_openmp_wait(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr) return;
  if (setenv("OMP_WAIT_POLICY", "passive", 1) != 0) return;
  execv("/proc/self/exe", argv);  // returns only on failure: then go on with the default policy
}

}  // namespace hd
