#pragma once
// Reading a whole file within a size limit, and UTF-8 checks shared by the readers.
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace hd::ingest_detail {

// The file's bytes; ReadError naming the file when it cannot be read or exceeds `limit`.
std::string read_bytes(const std::filesystem::path& path, std::uint64_t limit);
bool is_valid_utf8(std::string_view s);
// UTF-8 with each byte that starts no valid sequence replaced by U+FFFD, and what was found.
struct Utf8Repair {
  std::string text;
  std::size_t invalid_bytes = 0, first_invalid = 0, multibyte = 0;  // multibyte: valid sequences of 2-4 bytes
};
Utf8Repair repair_utf8(std::string_view s);
// 1: UTF-16 little-endian, 2: big-endian, judged from the zero bytes of the first 8 KiB of text
// that has no byte-order mark; 0: neither.
int utf16_without_bom(std::string_view s);
// At most `max` bytes of `s`, cut at a character boundary.
std::string utf8_prefix(const std::string& s, std::size_t max);

}  // namespace hd::ingest_detail

namespace hd {
struct Document;
struct ReadLimits;
// A text file's content as UTF-8 (UTF-8, UTF-16 with BOM, or a detected legacy encoding,
// converted with a warning in `doc`). Shared by the text, Markdown and HTML readers.
std::string decode_text_file(const std::filesystem::path& path, const ReadLimits& limits, Document& doc);
}  // namespace hd
