// Plain text: UTF-8 (BOM optional), UTF-16 with a byte-order mark, and other encodings
// detected by uchardet and converted by iconv (with a warning saying from what).
#include <iconv.h>
#include <uchardet.h>

#include <memory>

#include "file_bytes.h"
#include "hd/ingest/readers.h"

namespace hd {
namespace {

using ingest_detail::is_valid_utf8;

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xe0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

std::string utf16_to_utf8(const std::string& bytes, bool little_endian, const std::filesystem::path& path,
                          std::size_t start) {
  if (bytes.size() % 2) throw ReadError(path.string() + ": UTF-16 text with an odd number of bytes (truncated?)");
  std::string out;
  auto unit = [&](std::size_t i) {
    const auto a = static_cast<unsigned char>(bytes[i]), b = static_cast<unsigned char>(bytes[i + 1]);
    return static_cast<char32_t>(little_endian ? (a | b << 8) : (a << 8 | b));
  };
  for (std::size_t i = start; i < bytes.size(); i += 2) {  // start: 2 skips the BOM
    char32_t u = unit(i);
    if (u >= 0xd800 && u <= 0xdbff && i + 2 < bytes.size()) {
      const char32_t lo = unit(i + 2);
      if (lo >= 0xdc00 && lo <= 0xdfff) {
        u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
        i += 2;
      } else {
        u = 0xfffd;
      }
    } else if (u >= 0xd800 && u <= 0xdfff) {
      u = 0xfffd;  // a lone surrogate
    }
    append_utf8(out, u);
  }
  return out;
}

std::string convert_with_iconv(const std::string& bytes, const std::string& charset, const std::filesystem::path& path) {
  iconv_t cd = iconv_open("UTF-8", charset.c_str());
  if (cd == reinterpret_cast<iconv_t>(-1)) {
    throw ReadError(path.string() + ": text in " + charset + ", which this system cannot convert; save it as UTF-8");
  }
  std::string out(bytes.size() * 4 + 16, '\0');
  char* in_ptr = const_cast<char*>(bytes.data());
  std::size_t in_left = bytes.size(), out_left = out.size();
  char* out_ptr = out.data();
  const std::size_t rc = iconv(cd, &in_ptr, &in_left, &out_ptr, &out_left);
  iconv_close(cd);
  if (rc == static_cast<std::size_t>(-1)) {
    throw ReadError(path.string() + ": text is not valid " + charset + " either; save it as UTF-8");
  }
  out.resize(out.size() - out_left);
  return out;
}

}  // namespace

// The text of a file as UTF-8, whatever its encoding (shared by the text, Markdown and HTML readers).
std::string decode_text_file(const std::filesystem::path& path, const ReadLimits& limits, Document& doc) {
  std::string bytes = ingest_detail::read_bytes(path, limits.max_file_bytes);
  if (bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0xff && static_cast<unsigned char>(bytes[1]) == 0xfe) {
    return utf16_to_utf8(bytes, true, path, 2);
  }
  if (bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0xfe && static_cast<unsigned char>(bytes[1]) == 0xff) {
    return utf16_to_utf8(bytes, false, path, 2);
  }
  if (const int utf16 = ingest_detail::utf16_without_bom(bytes)) {
    doc.warnings.push_back(std::string("read as UTF-16") + (utf16 == 1 ? "LE" : "BE") + " (no byte-order mark)");
    return utf16_to_utf8(bytes, utf16 == 1, path, 0);
  }
  if (bytes.compare(0, 3, "\xef\xbb\xbf") == 0) bytes.erase(0, 3);
  if (is_valid_utf8(bytes)) return bytes;
  // UTF-8 with a few bad bytes (a damaged copy, a stray Latin-1 byte): kept, the bad bytes replaced
  // by U+FFFD and counted, when the file shows it is UTF-8 (valid multi-byte characters) and at
  // most 1 byte in 100 is bad. A file with no multi-byte character is more likely a legacy
  // encoding, which uchardet names below.
  ingest_detail::Utf8Repair repaired = ingest_detail::repair_utf8(bytes);
  if (repaired.multibyte > 0 && repaired.invalid_bytes * 100 <= bytes.size()) {
    doc.warnings.push_back(std::to_string(repaired.invalid_bytes) + " invalid UTF-8 byte(s) replaced by U+FFFD, the first at byte " +
                           std::to_string(repaired.first_invalid));
    return std::move(repaired.text);
  }
  std::unique_ptr<std::remove_pointer_t<uchardet_t>, void (*)(uchardet_t)> detector(uchardet_new(), uchardet_delete);
  uchardet_handle_data(detector.get(), bytes.data(), bytes.size());
  uchardet_data_end(detector.get());
  const std::string charset = uchardet_get_charset(detector.get());
  if (charset.empty() || charset == "UTF-8" || charset == "ASCII") {
    throw ReadError(path.string() + ": not valid UTF-8 (" + std::to_string(repaired.invalid_bytes) +
                    " bad byte(s), the first at byte " + std::to_string(repaired.first_invalid) +
                    ") and no other encoding fits; save it as UTF-8");
  }
  doc.warnings.push_back("converted from " + charset + " (detected)");
  return convert_with_iconv(bytes, charset, path);
}

Document read_text(const std::filesystem::path& path, const ReadLimits& limits) {
  Document doc;
  doc.path = path;
  doc.format = DocumentFormat::text;
  const std::string text = decode_text_file(path, limits, doc);
  DocumentBuilder b(doc, limits.max_text_bytes, limits);
  // Paragraphs are separated by blank lines (LF or CRLF). One pass, line by line: searching for
  // the next separator from every paragraph over the rest of the file was quadratic (a 30 MB file
  // of short paragraphs never finished).
  std::size_t paragraph = 0, line = 0;
  while (line < text.size()) {
    std::size_t end = text.find('\n', line);
    if (end == std::string::npos) end = text.size();
    const bool blank = end == line || (end == line + 1 && text[line] == '\r');
    if (blank) {
      if (line > paragraph) b.paragraph(text.substr(paragraph, line - paragraph));
      paragraph = end + 1;
    }
    line = end + 1;
  }
  if (paragraph < text.size()) b.paragraph(text.substr(paragraph));
  b.finish();
  const std::size_t first_line = doc.text.find('\n');
  doc.title = ingest_detail::utf8_prefix(doc.text.substr(0, first_line), 120);
  if (doc.title.empty()) doc.title = path.stem().string();
  return doc;
}

}  // namespace hd
