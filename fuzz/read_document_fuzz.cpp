// Every document reader's entry point: the first byte picks the file name's extension (so each
// reader and the format sniffing see the rest), the rest is the file. A reader may refuse an
// input with ReadError; anything else (a crash, a sanitizer report, another exception) is a bug.
#include "fuzz_support.h"
#include "hd/ingest/readers.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const char* const names[] = {"in.txt", "in.md", "in.html", "in.pdf", "in.docx", "in"};
  if (size < 1) return 0;
  const auto path = hd::fuzz::write_input(data + 1, size - 1, names[data[0] % 6]);
  hd::ReadLimits limits;
  limits.max_file_bytes = 1u << 20;  // keep each run fast; the limits themselves are tested elsewhere
  limits.max_inflated_bytes = 4u << 20;
  limits.max_seconds = 0;            // the fuzzer's own -timeout finds slow inputs
  try {
    hd::read_document(path, limits);
  } catch (const hd::ReadError&) {
  }
  return 0;
}
