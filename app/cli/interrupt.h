#pragma once
// Ctrl-C for long commands: the first press sets a flag the work polls (it stops cleanly,
// keeping what is done); a second press leaves at once.
#include <atomic>

namespace hd::cli {

class InterruptScope {
 public:
  InterruptScope();   // installs the handler and clears the flag
  ~InterruptScope();  // restores the default handler
  InterruptScope(const InterruptScope&) = delete;
  InterruptScope& operator=(const InterruptScope&) = delete;
  const std::atomic<bool>* flag() const;
};

}  // namespace hd::cli
