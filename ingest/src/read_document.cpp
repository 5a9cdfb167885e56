#include "hd/ingest/readers.h"

namespace hd {

Document read_document(const std::filesystem::path& path, const ReadLimits& limits) {
  const FormatGuess guess = detect_format(path);
  switch (guess.format) {
    case DocumentFormat::text: return read_text(path, limits);
    case DocumentFormat::markdown: return read_markdown(path, limits);
    case DocumentFormat::html: return read_html(path, limits);
    case DocumentFormat::pdf: return read_pdf(path, limits);
    case DocumentFormat::docx: return read_docx(path, limits);
    case DocumentFormat::empty:
    case DocumentFormat::binary:
    case DocumentFormat::unsupported:
      break;
  }
  throw ReadError(path.string() + ": " + guess.reason);
}

}  // namespace hd
