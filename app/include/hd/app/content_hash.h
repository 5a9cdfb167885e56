#pragma once
// Content identity of a file: SHA-256 of the bytes actually read (OpenSSL's libcrypto), as
// "sha256:<64 hex digits>". Identical content is stored once, so the identity must not collide
// by accident or on purpose (an FNV hash, used before schema 3, could be made to).
#include <cstdint>
#include <filesystem>
#include <string>

namespace hd {

struct ContentHash {
  std::string id;           // "sha256:..."
  std::uint64_t bytes = 0;  // how many bytes were hashed
};

// Throws ReadError (naming the file and the reason) when the file cannot be opened or read to the
// end: an unreadable file has no identity, rather than the identity of zero bytes.
ContentHash hash_file_content(const std::filesystem::path& file);

// The same identity for bytes in memory.
std::string content_id_of(const std::string& bytes);

}  // namespace hd
