#include "hd/ingest/format_detect.h"

#include "file_bytes.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <vector>

namespace hd {
namespace {

std::string lower_extension(const std::filesystem::path& p) {
  std::string e = p.extension().string();
  std::transform(e.begin(), e.end(), e.begin(), [](unsigned char c) { return std::tolower(c); });
  return e;
}

bool starts_with(const std::vector<unsigned char>& b, std::string_view magic) {
  return b.size() >= magic.size() && std::equal(magic.begin(), magic.end(), b.begin(),
                                                 [](char m, unsigned char c) { return static_cast<unsigned char>(m) == c; });
}

// Text if it has no NUL bytes (UTF-16 is caught earlier by its BOM) and few control characters.
bool looks_like_text(const std::vector<unsigned char>& b) {
  std::size_t control = 0;
  for (unsigned char c : b) {
    if (c == 0) return false;
    if (c < 0x20 && c != '\n' && c != '\r' && c != '\t' && c != '\f' && c != 0x1b) ++control;
  }
  return control * 100 <= b.size();  // at most 1%
}

bool looks_like_html(const std::vector<unsigned char>& b) {
  std::string head(b.begin(), b.begin() + static_cast<long>(std::min<std::size_t>(b.size(), 1024)));
  std::transform(head.begin(), head.end(), head.begin(), [](unsigned char c) { return std::tolower(c); });
  return head.find("<!doctype html") != std::string::npos || head.find("<html") != std::string::npos;
}

}  // namespace

const char* to_string(DocumentFormat f) {
  switch (f) {
    case DocumentFormat::text: return "text";
    case DocumentFormat::markdown: return "markdown";
    case DocumentFormat::html: return "html";
    case DocumentFormat::pdf: return "pdf";
    case DocumentFormat::docx: return "docx";
    case DocumentFormat::empty: return "empty";
    case DocumentFormat::binary: return "binary";
    case DocumentFormat::unsupported: return "unsupported";
  }
  return "?";
}

FormatGuess detect_format(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {DocumentFormat::unsupported, "cannot open the file"};
  std::vector<unsigned char> head(8192);
  in.read(reinterpret_cast<char*>(head.data()), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<std::size_t>(in.gcount()));
  const std::string ext = lower_extension(path);

  if (head.empty()) return {DocumentFormat::empty, "zero bytes"};
  if (starts_with(head, "%PDF-")) return {DocumentFormat::pdf, "PDF signature"};
  if (starts_with(head, "PK\x03\x04")) {
    if (ext == ".docx") return {DocumentFormat::docx, "ZIP container named .docx"};
    return {DocumentFormat::unsupported, "ZIP archive that is not a .docx document"};
  }
  const bool utf16_bom = starts_with(head, "\xff\xfe") || starts_with(head, "\xfe\xff");
  const std::string_view head_view(reinterpret_cast<const char*>(head.data()), head.size());
  const int utf16_no_bom = utf16_bom ? 0 : ingest_detail::utf16_without_bom(head_view);
  const bool text = utf16_bom || utf16_no_bom || looks_like_text(head);
  // Content before the name: a file named like a container it is not gets the real problem.
  if (ext == ".pdf") {
    return {DocumentFormat::unsupported, text ? "named .pdf but is plain text (no %PDF- signature)"
                                              : "named .pdf but has no PDF signature (damaged, or another format)"};
  }
  if (ext == ".docx") {
    return {DocumentFormat::unsupported, text ? "named .docx but is plain text, not a ZIP container"
                                              : "named .docx but is not a ZIP container (damaged, or another format)"};
  }
  if (!text) return {DocumentFormat::binary, "binary content (NUL or control bytes)"};
  if (ext == ".html" || ext == ".htm" || ext == ".xhtml" || (!utf16_bom && !utf16_no_bom && looks_like_html(head))) {
    return {DocumentFormat::html, "HTML"};
  }
  if (ext == ".md" || ext == ".markdown") return {DocumentFormat::markdown, "Markdown by extension"};
  if (ext == ".txt" || ext == ".text" || ext.empty() || ext == ".log" || ext == ".rst") {
    return {DocumentFormat::text, utf16_bom ? "UTF-16 text (byte-order mark)"
                                  : utf16_no_bom ? "UTF-16 text without a byte-order mark" : "plain text"};
  }
  return {DocumentFormat::unsupported, "unsupported file type \"" + ext + "\""};
}

}  // namespace hd
