#pragma once
// Thread settings for the CPU backend, applied once per process at start-up.

namespace hd {

// The CPU backend mixes OpenMP loops with OpenBLAS calls, each with its own threads. GNU
// OpenMP's idle threads spin for about a millisecond after every loop by default, taking the
// cores OpenBLAS needs next (measured on 2 cores: prefill 2x and decode 5x slower). The
// policy is read only when the OpenMP runtime starts, so a program calls this first thing
// in main(): when OMP_WAIT_POLICY is unset it sets it to "passive" and re-executes itself
// (/proc/self/exe, same arguments); otherwise, or if that fails, it returns and runs as is.
void use_passive_openmp_wait(char** argv);

}  // namespace hd
