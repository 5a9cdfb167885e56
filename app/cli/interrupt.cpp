#include "interrupt.h"

#include <csignal>
#include <cstdlib>

namespace hd::cli {
namespace {
std::atomic<bool> g_interrupted{false};
extern "C" void on_interrupt(int) {
  if (g_interrupted.exchange(true)) std::_Exit(130);
}
}  // namespace

InterruptScope::InterruptScope() {
  g_interrupted = false;
  std::signal(SIGINT, on_interrupt);
}
InterruptScope::~InterruptScope() { std::signal(SIGINT, SIG_DFL); }
const std::atomic<bool>* InterruptScope::flag() const { return &g_interrupted; }

}  // namespace hd::cli
