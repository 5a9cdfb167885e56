#pragma once
// A document as the readers deliver it: plain text plus the structure citations need
// (title, section paths with character offsets into the text, page spans for PDFs).
#include <atomic>
#include <chrono>
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

// A read stopped because the user cancelled it (Ctrl-C, Cancel): not the file's fault, so it is
// not recorded as a failure; nothing of the file is stored and the next run reads it again.
class ReadCancelled : public std::runtime_error {
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
  // The per-file budget: reading one file (parsing, not embedding) may take this long and grow the
  // process's resident memory by this much; past either the file is refused with that reason and
  // the next file is read. 0 = no limit.
  double max_seconds = 300;
  std::uint64_t max_memory_growth_bytes = 4ull << 30;
  const std::atomic<bool>* cancel = nullptr;       // set: the read stops at its next check (ReadCancelled)
};

// Holds one file's read to ReadLimits' time, memory and cancel. Readers call check() at every
// paragraph, page or node of their input, so a stop takes effect within a fraction of a second.
class ReadWatch {
 public:
  ReadWatch(std::filesystem::path path, const ReadLimits& limits);
  void check();  // throws ReadCancelled, or ReadError naming the budget that ran out

 private:
  std::filesystem::path path_;
  double max_seconds_;
  std::uint64_t max_growth_;
  const std::atomic<bool>* cancel_;
  std::chrono::steady_clock::time_point start_;
  std::uint64_t resident_at_start_;
  std::uint32_t calls_ = 0;
};

// Builds text and sections as a reader walks a document.
class DocumentBuilder {
 public:
  DocumentBuilder(Document& doc, std::uint64_t max_text_bytes, const ReadLimits& watch = {})
      : doc_(doc), max_(max_text_bytes), watch_(doc.path, watch) {}
  void heading(int level, const std::string& text);  // level 1 = top
  void paragraph(const std::string& text);           // whitespace-trimmed; empty ones are skipped
  void start_page(int page);
  void finish();
  void check() { watch_.check(); }  // for a reader's own loop between paragraphs

 private:
  void close_section();
  Document& doc_;
  std::uint64_t max_;
  ReadWatch watch_;
  std::vector<std::pair<int, std::string>> headings_;
  std::size_t section_begin_ = 0;
  bool open_page_ = false;
};

}  // namespace hd
