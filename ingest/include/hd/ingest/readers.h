#pragma once
// Reading any supported file into a Document. Each reader refuses what it cannot read with
// a ReadError naming the file and the reason; none reads past the limits.
#include <filesystem>

#include "hd/ingest/document.h"

namespace hd {

Document read_document(const std::filesystem::path& path, const ReadLimits& limits = {});

// The readers behind read_document, one per format.
Document read_text(const std::filesystem::path& path, const ReadLimits& limits);
Document read_markdown(const std::filesystem::path& path, const ReadLimits& limits);
Document read_html(const std::filesystem::path& path, const ReadLimits& limits);
Document read_pdf(const std::filesystem::path& path, const ReadLimits& limits);
Document read_docx(const std::filesystem::path& path, const ReadLimits& limits);

}  // namespace hd
