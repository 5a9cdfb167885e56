#pragma once
// Large plain-text files read in bounded pieces: each segment is a Document of whole paragraphs
// (cut at the last blank line of a block of about `segment_bytes`), so memory stays the size of
// a segment however large the file is. UTF-8 files only (a BOM is skipped); other encodings are
// read whole by read_text within ReadLimits.
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include "hd/ingest/document.h"

namespace hd {

class TextSegments {
 public:
  // Whether `path` should be streamed: a plain-text file larger than `threshold_bytes` that starts
  // as UTF-8 (checked on its first block; every later block is checked as it is read).
  static bool applies(const std::filesystem::path& path, std::uint64_t threshold_bytes);

  // `limits` holds each segment's read to its time, memory and cancel (ReadWatch).
  TextSegments(const std::filesystem::path& path, std::size_t segment_bytes, const ReadLimits& limits = {});
  // The next segment, or nothing at the end of the file. A block that is not valid UTF-8 is a
  // ReadError naming the file and the byte offset.
  std::optional<Document> next();
  // Byte offset of the last segment's text within the whole file's text (chunk offsets add it).
  std::uint64_t segment_offset() const { return segment_offset_; }
  std::uint64_t bytes_read() const { return consumed_; }
  const std::string& title() const { return title_; }

 private:
  std::filesystem::path path_;
  std::ifstream in_;
  std::size_t segment_bytes_;
  ReadLimits limits_;
  std::string carry_;  // read but not yet handed out (the tail after the last blank line)
  std::uint64_t consumed_ = 0, segment_offset_ = 0, next_offset_ = 0;
  std::string title_;
  bool eof_ = false;
};

}  // namespace hd
