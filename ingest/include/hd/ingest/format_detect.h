#pragma once
// What kind of document a file is, from its first bytes and its name. Content wins over
// the extension: a binary file named .txt is reported as binary, not read as text.
#include <filesystem>
#include <string>

namespace hd {

enum class DocumentFormat { text, markdown, html, pdf, docx, empty, binary, unsupported };

struct FormatGuess {
  DocumentFormat format = DocumentFormat::unsupported;
  std::string reason;  // why, in words a user understands ("zero bytes", "ZIP without word/document.xml" ...)
};

const char* to_string(DocumentFormat f);

// Reads at most the first 8 KiB of `path` (and, for ZIP files, the central directory name list).
FormatGuess detect_format(const std::filesystem::path& path);

}  // namespace hd
