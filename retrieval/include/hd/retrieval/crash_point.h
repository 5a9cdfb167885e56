#pragma once
// Named places where a killed process must leave the store consistent (before and after each
// SQLite commit, after each embedding batch, between the segments of a large file, around a
// FAISS generation write). Tests use them to kill an ingest at a point they know, instead of
// after a guessed number of seconds:
//
//   HD_CRASH_POINT=NAME:N   the Nth arrival at crash_point("NAME") stops the process (SIGSTOP);
//                           the test that started it sees WIFSTOPPED, inspects the store, then
//                           sends SIGKILL. N counts from 1 within one process.
//
// Without the variable a crash point costs one well-predicted branch.
namespace hd {

void crash_point(const char* name);

}  // namespace hd
