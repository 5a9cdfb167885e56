#include "file_bytes.h"

#include <algorithm>

#include <fstream>

#include "hd/ingest/document.h"

namespace hd::ingest_detail {

std::string read_bytes(const std::filesystem::path& path, std::uint64_t limit) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) throw ReadError(path.string() + ": cannot read (" + ec.message() + ")");
  if (size > limit) {
    throw ReadError(path.string() + ": " + std::to_string(size >> 20) + " MiB is over the " +
                    std::to_string(limit >> 20) + " MiB limit for one file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ReadError(path.string() + ": cannot open");
  std::string bytes(size, '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(size));
  if (static_cast<std::uint64_t>(in.gcount()) != size) throw ReadError(path.string() + ": read stopped early");
  return bytes;
}

// Length of the valid UTF-8 sequence at s[i], or 0 when the byte there starts none.
static std::size_t utf8_sequence_at(std::string_view s, std::size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  std::size_t n;
  unsigned char lo = 0x80, hi = 0xbf;
  if (c < 0x80) n = 1;
  else if (c >= 0xc2 && c <= 0xdf) n = 2;
  else if (c == 0xe0) { n = 3; lo = 0xa0; }
  else if ((c >= 0xe1 && c <= 0xec) || c == 0xee || c == 0xef) n = 3;
  else if (c == 0xed) { n = 3; hi = 0x9f; }
  else if (c == 0xf0) { n = 4; lo = 0x90; }
  else if (c >= 0xf1 && c <= 0xf3) n = 4;
  else if (c == 0xf4) { n = 4; hi = 0x8f; }
  else return 0;
  if (i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xbf)) return 0;
  }
  return n;
}

bool is_valid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t n = utf8_sequence_at(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

Utf8Repair repair_utf8(std::string_view s) {
  Utf8Repair r;
  r.text.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t n = utf8_sequence_at(s, i);
    if (n == 0) {
      if (r.invalid_bytes++ == 0) r.first_invalid = i;
      r.text += "\xef\xbf\xbd";  // U+FFFD for each bad byte
      ++i;
      continue;
    }
    r.multibyte += n > 1;
    r.text.append(s.data() + i, n);
    i += n;
  }
  return r;
}

int utf16_without_bom(std::string_view s) {
  const std::size_t pairs = std::min<std::size_t>(s.size(), 8192) / 2;
  if (pairs < 2) return 0;
  std::size_t zero_even = 0, zero_odd = 0;
  for (std::size_t k = 0; k < pairs; ++k) {
    zero_even += s[2 * k] == 0;
    zero_odd += s[2 * k + 1] == 0;
  }
  // Latin-script UTF-16: the high byte of most units is zero, the low byte almost never.
  if (zero_odd * 10 >= pairs * 3 && zero_even * 20 < pairs) return 1;
  if (zero_even * 10 >= pairs * 3 && zero_odd * 20 < pairs) return 2;
  return 0;
}

std::string utf8_prefix(const std::string& s, std::size_t max) {
  if (s.size() <= max) return s;
  std::size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xc0) == 0x80) --n;
  return s.substr(0, n);
}

}  // namespace hd::ingest_detail
