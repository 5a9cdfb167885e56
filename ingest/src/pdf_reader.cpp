// PDF through poppler-cpp: the text of every page, with page spans for citations.
// Encrypted files and files without a text layer are refused with the reason.
#include <poppler-document.h>
#include <poppler-global.h>
#include <poppler-page.h>

#include <memory>

#include "file_bytes.h"
#include "hd/ingest/readers.h"

namespace hd {
namespace {

// poppler reports parse problems through a callback; damaged files are reported by us instead.
void quiet(const std::string&, void*) {}

std::string to_string(const poppler::ustring& s) {
  const poppler::byte_array bytes = s.to_utf8();
  return std::string(bytes.begin(), bytes.end());
}

}  // namespace

Document read_pdf(const std::filesystem::path& path, const ReadLimits& limits) {
  Document doc;
  doc.path = path;
  doc.format = DocumentFormat::pdf;
  poppler::set_debug_error_function(quiet, nullptr);
  std::string bytes = ingest_detail::read_bytes(path, limits.max_file_bytes);
  std::unique_ptr<poppler::document> pdf(poppler::document::load_from_raw_data(bytes.data(), static_cast<int>(bytes.size())));
  if (!pdf) throw ReadError(path.string() + ": not a readable PDF (damaged or truncated?)");
  if (pdf->is_locked()) throw ReadError(path.string() + ": the PDF is encrypted (password protected)");
  DocumentBuilder b(doc, limits.max_text_bytes, limits);
  const int pages = pdf->pages();
  bool any_text = false;
  for (int i = 0; i < pages; ++i) {
    std::unique_ptr<poppler::page> page(pdf->create_page(i));
    b.start_page(i + 1);
    if (!page) continue;
    const std::string text = to_string(page->text());
    // Paragraphs on a page: blocks separated by blank lines.
    std::size_t start = 0;
    while (start < text.size()) {
      std::size_t end = text.find("\n\n", start);
      if (end == std::string::npos) end = text.size();
      const std::string para = text.substr(start, end - start);
      if (para.find_first_not_of(" \t\r\n\f") != std::string::npos) any_text = true;
      b.paragraph(para);
      start = end + 2;
    }
  }
  b.finish();
  if (!any_text) {
    throw ReadError(path.string() + ": no text layer in " + std::to_string(pages) +
                    " page(s) (a scanned PDF? text recognition is not supported)");
  }
  const std::string title = to_string(pdf->get_title());
  doc.title = !title.empty() ? title : path.stem().string();
  return doc;
}

}  // namespace hd
