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

int run_doctor(const Argv& argv) {
  Args args(argv, {"--store"});
  if (!args.positional().empty()) throw UsageError("doctor takes no file names");
  std::cout << build_info_text();
  if (const auto dir = args.value("--store")) {
    std::cout << "\nstore " << *dir << ":\n";
    return check_store_command(*dir);
  }
  return 0;
}

}  // namespace hd::cli
