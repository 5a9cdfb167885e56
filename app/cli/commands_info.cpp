#include <iostream>

#include "args.h"
#include "commands.h"
#include "hd/app/build_info.h"
#include "hd/app/version.h"

namespace hd::cli {

int run_version(const Argv&) {
  std::cout << "hyenadesk " << version() << "\n";
  return 0;
}

int run_doctor(const Argv&) {
  std::cout << build_info_text();
  return 0;
}

}  // namespace hd::cli
