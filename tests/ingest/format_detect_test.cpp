#include <gtest/gtest.h>

#include "hd/ingest/format_detect.h"
#include "support/temp_dir.h"

namespace hd {
namespace {

using test::TempDir;
using test::write_file;

DocumentFormat format_of(const TempDir& dir, const std::string& name, const std::string& bytes) {
  write_file(dir / name, bytes);
  return detect_format(dir / name).format;
}

TEST(FormatDetect, RecognisesEachSupportedFormat) {
  TempDir d;
  EXPECT_EQ(format_of(d, "a.txt", "Hello, world.\nSecond line.\n"), DocumentFormat::text);
  EXPECT_EQ(format_of(d, "a.md", "# Title\n\nBody.\n"), DocumentFormat::markdown);
  EXPECT_EQ(format_of(d, "a.html", "<!DOCTYPE html><html><body>x</body></html>"), DocumentFormat::html);
  EXPECT_EQ(format_of(d, "page", "<!doctype HTML>\n<html>"), DocumentFormat::html) << "HTML sniffed without extension";
  EXPECT_EQ(format_of(d, "a.pdf", "%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"), DocumentFormat::pdf);
  EXPECT_EQ(format_of(d, "report.docx", std::string("PK\x03\x04", 4) + "rest"), DocumentFormat::docx);
  EXPECT_EQ(format_of(d, "u16.txt", std::string("\xff\xfe" "h\0i\0", 6)), DocumentFormat::text);
}

TEST(FormatDetect, ContentWinsOverExtension) {
  TempDir d;
  EXPECT_EQ(format_of(d, "notes.txt", std::string("\x7f" "ELF\x02\x01\x01\0\0\0", 10)), DocumentFormat::binary);
  EXPECT_EQ(format_of(d, "misnamed.txt", "%PDF-1.4\n"), DocumentFormat::pdf);
  EXPECT_EQ(format_of(d, "archive.zip", std::string("PK\x03\x04", 4)), DocumentFormat::unsupported);
}

TEST(FormatDetect, ZeroBytesAndMissingFilesAreReportedWithReason) {
  TempDir d;
  write_file(d / "empty.txt", "");
  FormatGuess g = detect_format(d / "empty.txt");
  EXPECT_EQ(g.format, DocumentFormat::empty);
  EXPECT_EQ(g.reason, "zero bytes");
  g = detect_format(d / "missing.txt");
  EXPECT_EQ(g.format, DocumentFormat::unsupported);
  EXPECT_EQ(g.reason, "cannot open the file");
}

TEST(FormatDetect, UnknownExtensionOfTextIsUnsupportedWithTheExtensionNamed) {
  TempDir d;
  write_file(d / "data.csv", "a,b\n1,2\n");
  FormatGuess g = detect_format(d / "data.csv");
  EXPECT_EQ(g.format, DocumentFormat::unsupported);
  EXPECT_NE(g.reason.find(".csv"), std::string::npos);
}


TEST(FormatDetect, AMisnamedContainerIsReportedByWhatItReallyIs) {
  TempDir d;
  write_file(d / "report.pdf", "Just some notes, not a PDF.\n");
  EXPECT_EQ(detect_format(d / "report.pdf").reason, "named .pdf but is plain text (no %PDF- signature)");
  write_file(d / "memo.docx", "plain words\n");
  EXPECT_EQ(detect_format(d / "memo.docx").reason, "named .docx but is plain text, not a ZIP container");
  write_file(d / "blob.pdf", std::string("\x7f" "ELF\x02\x01\x01\0\0\0", 10));
  EXPECT_EQ(detect_format(d / "blob.pdf").reason, "named .pdf but has no PDF signature (damaged, or another format)");
}

TEST(FormatDetect, Utf16WithoutAByteOrderMarkIsText) {
  TempDir d;
  std::string le, be;
  for (char c : std::string("Plain words in UTF-16, no byte-order mark.\n")) {
    le += c, le += '\0';
    be += '\0', be += c;
  }
  write_file(d / "le.txt", le);
  write_file(d / "be.txt", be);
  EXPECT_EQ(detect_format(d / "le.txt").reason, "UTF-16 text without a byte-order mark");
  EXPECT_EQ(detect_format(d / "be.txt").format, DocumentFormat::text);
}

}  // namespace
}  // namespace hd
