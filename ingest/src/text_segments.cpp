#include "hd/ingest/text_segments.h"

#include <algorithm>

#include "file_bytes.h"
#include "hd/ingest/format_detect.h"

namespace hd {
namespace {

// Length of the longest prefix of `s` that does not end inside a UTF-8 sequence.
std::size_t complete_utf8_prefix(const std::string& s) {
  std::size_t i = s.size();
  for (int back = 0; back < 4 && i > 0; ++back) {
    const auto c = static_cast<unsigned char>(s[i - 1]);
    if (c < 0x80) return s.size();                     // ASCII: complete
    if ((c & 0xC0) == 0xC0) {                          // a lead byte: is its sequence complete?
      const std::size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
      return s.size() - (i - 1) >= need ? s.size() : i - 1;
    }
    --i;  // a continuation byte: look further back
  }
  return s.size();
}

}  // namespace

bool TextSegments::applies(const std::filesystem::path& path, std::uint64_t threshold_bytes) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec || size <= threshold_bytes) return false;
  if (detect_format(path).format != DocumentFormat::text) return false;
  std::ifstream in(path, std::ios::binary);
  std::string head(64 << 10, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<std::size_t>(in.gcount()));
  if (head.compare(0, 2, "\xff\xfe") == 0 || head.compare(0, 2, "\xfe\xff") == 0) return false;  // UTF-16
  head.resize(complete_utf8_prefix(head));
  return ingest_detail::is_valid_utf8(head);
}

TextSegments::TextSegments(const std::filesystem::path& path, std::size_t segment_bytes, const ReadLimits& limits)
    : path_(path), in_(path, std::ios::binary), segment_bytes_(segment_bytes), limits_(limits) {
  if (!in_) throw ReadError(path.string() + ": cannot open");
}

std::optional<Document> TextSegments::next() {
  while (!eof_ && carry_.size() < segment_bytes_) {
    std::string block(segment_bytes_, '\0');
    in_.read(block.data(), static_cast<std::streamsize>(block.size()));
    block.resize(static_cast<std::size_t>(in_.gcount()));
    eof_ = block.empty() || in_.eof();
    if (consumed_ == 0 && block.compare(0, 3, "\xef\xbb\xbf") == 0) block.erase(0, 3);
    consumed_ += block.size();
    carry_ += block;
  }
  if (carry_.empty()) return std::nullopt;
  // Cut after the last blank line, or (no blank line in a whole segment, or at the end) take all.
  std::size_t cut = carry_.size();
  if (!eof_ || carry_.size() > segment_bytes_) {
    const std::size_t gap = carry_.rfind("\n\n", std::min(carry_.size() - 1, segment_bytes_));
    if (gap != std::string::npos && gap > 0) cut = gap + 2;
    else cut = complete_utf8_prefix(carry_.substr(0, std::min(carry_.size(), segment_bytes_)));
  }
  std::string piece = carry_.substr(0, cut);
  carry_.erase(0, cut);
  if (!ingest_detail::is_valid_utf8(piece)) {
    throw ReadError(path_.string() + ": not valid UTF-8 within bytes " + std::to_string(next_offset_) + " to " +
                    std::to_string(next_offset_ + piece.size()) + "; save it as UTF-8");
  }
  segment_offset_ = next_offset_;
  next_offset_ += piece.size();

  Document doc;
  doc.path = path_;
  doc.format = DocumentFormat::text;
  DocumentBuilder b(doc, piece.size() + 16, limits_);
  std::size_t start = 0;
  while (start < piece.size()) {
    std::size_t end = piece.find("\n\n", start);
    if (end == std::string::npos) end = piece.size();
    b.paragraph(piece.substr(start, end - start));
    start = end == piece.size() ? end : end + 2;
  }
  b.finish();
  if (title_.empty()) {
    title_ = ingest_detail::utf8_prefix(doc.text.substr(0, doc.text.find('\n')), 120);
    if (title_.empty()) title_ = path_.stem().string();
  }
  doc.title = title_;
  return doc;
}

}  // namespace hd
