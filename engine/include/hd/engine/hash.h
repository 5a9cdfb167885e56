#pragma once
// FNV-1a, 64 bit: a fast checksum for state files and model fingerprints (detects damage
// and mix-ups, not tampering).
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace hd {

class Fnv1a64 {
 public:
  void update(const void* data, std::size_t n) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (std::size_t i = 0; i < n; ++i) {
      h_ ^= p[i];
      h_ *= 0x100000001b3ull;
    }
  }
  void update(std::string_view s) { update(s.data(), s.size()); }
  std::uint64_t digest() const { return h_; }

 private:
  std::uint64_t h_ = 0xcbf29ce484222325ull;
};

}  // namespace hd
