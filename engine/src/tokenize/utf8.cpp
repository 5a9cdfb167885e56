#include "hd/engine/tokenizer.h"

namespace hd {

// Length of the valid UTF-8 sequence starting at s[i], or 0 if invalid (overlongs,
// surrogates and code points past U+10FFFF are invalid, as in the Unicode standard).
static std::size_t valid_sequence_length(std::string_view s, std::size_t i) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  if (c < 0x80) return 1;
  std::size_t n;
  unsigned char lo = 0x80, hi = 0xbf;
  if (c >= 0xc2 && c <= 0xdf) n = 2;
  else if (c == 0xe0) { n = 3; lo = 0xa0; }
  else if (c >= 0xe1 && c <= 0xec) n = 3;
  else if (c == 0xed) { n = 3; hi = 0x9f; }
  else if (c >= 0xee && c <= 0xef) n = 3;
  else if (c == 0xf0) { n = 4; lo = 0x90; }
  else if (c >= 0xf1 && c <= 0xf3) n = 4;
  else if (c == 0xf4) { n = 4; hi = 0x8f; }
  else return 0;
  if (i + n > s.size()) return 0;
  if (b(i + 1) < lo || b(i + 1) > hi) return 0;
  for (std::size_t k = 2; k < n; ++k) {
    if (b(i + k) < 0x80 || b(i + k) > 0xbf) return 0;
  }
  return n;
}

std::size_t sanitize_utf8(std::string_view in, std::string& out) {
  out.clear();
  out.reserve(in.size());
  std::size_t replaced = 0;
  bool in_invalid_run = false;
  for (std::size_t i = 0; i < in.size();) {
    std::size_t n = valid_sequence_length(in, i);
    if (n == 0) {
      if (!in_invalid_run) {
        out += "\xef\xbf\xbd";  // U+FFFD
        ++replaced;
      }
      in_invalid_run = true;
      ++i;
    } else {
      out.append(in.substr(i, n));
      in_invalid_run = false;
      i += n;
    }
  }
  return replaced;
}

}  // namespace hd
