#include <array>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "bench_report.h"

namespace hd::bench {
namespace {

std::string run(const std::string& cmd) {
  std::array<char, 256> buf{};
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return "";
  while (fgets(buf.data(), buf.size(), p)) out += buf.data();
  pclose(p);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

}  // namespace

std::string git_commit() {
  // A copy of the tree without .git (the GPU machine gets one) passes the commit in.
  if (const char* c = std::getenv("HD_COMMIT"); c && *c) return c;
  const std::string git = "git -C '" + std::string(HD_SOURCE_DIR) + "' ";
  std::string commit = run(git + "rev-parse --short HEAD 2>/dev/null");
  if (commit.empty()) return "unknown";
  if (!run(git + "status --porcelain --untracked-files=no 2>/dev/null").empty()) commit += "-dirty";
  return commit;
}

std::filesystem::path results_dir() {
  if (const char* d = std::getenv("HD_BENCH_RESULTS"); d && *d) return d;
  return std::filesystem::path(HD_SOURCE_DIR) / "bench" / "results";
}

}  // namespace hd::bench
