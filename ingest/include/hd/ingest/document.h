#pragma once
// A document as the readers deliver it: plain text plus the structure citations need
// (title, section paths with character offsets into the text, page spans for PDFs).
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "hd/ingest/format_detect.h"

namespace hd {

// A file that cannot be read; the message names the file and the reason.
class ReadError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Section {
  std::string path;  // headings from the top, joined by " > " ("Results > Long prompts")
  std::size_t begin = 0, end = 0;  // byte offsets into Document::text
};

struct PageSpan {
  int page = 0;  // 1-based
  std::size_t begin = 0, end = 0;
};

struct Document {
  std::filesystem::path path;
  DocumentFormat format = DocumentFormat::text;
  std::string title;
  std::string text;  // UTF-8, paragraphs separated by blank lines
  std::vector<Section> sections;
  std::vector<PageSpan> pages;
  std::vector<std::string> warnings;  // accepted but worth saying (e.g. replaced bytes)
};

struct ReadLimits {
  std::uint64_t max_file_bytes = 1ull << 30;      // larger files are refused, not read
  std::uint64_t max_text_bytes = 256ull << 20;    // extracted text
  std::uint64_t max_inflated_bytes = 512ull << 20;  // a DOCX's XML after decompression (zip bombs)
  std::size_t max_html_depth = 1024;               // deeper HTML is refused (the parser's time grows with depth)
};

// Builds text and sections as a reader walks a document.
class DocumentBuilder {
 public:
  explicit DocumentBuilder(Document& doc, std::uint64_t max_text_bytes) : doc_(doc), max_(max_text_bytes) {}
  void heading(int level, const std::string& text);  // level 1 = top
  void paragraph(const std::string& text);           // whitespace-trimmed; empty ones are skipped
  void start_page(int page);
  void finish();

 private:
  void close_section();
  Document& doc_;
  std::uint64_t max_;
  std::vector<std::pair<int, std::string>> headings_;
  std::size_t section_begin_ = 0;
  bool open_page_ = false;
};

}  // namespace hd
