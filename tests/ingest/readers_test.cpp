// Every reader on real files made here: good input with its structure, and the bad input a
// real document folder holds (truncated, encrypted-like, text-less, zip bombs, deep nesting,
// other encodings, binaries named .txt, zero bytes).
#include <gtest/gtest.h>

#include <atomic>
#include <zip.h>

#include <algorithm>
#include <cstdlib>
#include <sstream>

#include "hd/ingest/readers.h"
#include "support/temp_dir.h"

namespace hd {
namespace {

using test::TempDir;
using test::write_file;

std::string error_of(const std::filesystem::path& p, const ReadLimits& limits = {}) {
  try {
    read_document(p, limits);
  } catch (const ReadError& e) {
    return e.what();
  }
  return "";
}

// A minimal PDF with one text line per page (Helvetica), with a correct cross-reference table.
std::string make_pdf(const std::vector<std::string>& page_texts) {
  std::vector<std::string> objects;
  const int n = static_cast<int>(page_texts.size());
  std::string kids;
  for (int i = 0; i < n; ++i) kids += std::to_string(4 + 2 * i) + " 0 R ";
  objects.push_back("<< /Type /Catalog /Pages 2 0 R >>");
  objects.push_back("<< /Type /Pages /Kids [" + kids + "] /Count " + std::to_string(n) + " >>");
  objects.push_back("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>");
  for (int i = 0; i < n; ++i) {
    const std::string content = page_texts[i].empty() ? "" : "BT /F1 12 Tf 72 720 Td (" + page_texts[i] + ") Tj ET";
    objects.push_back("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> "
                      "/Contents " + std::to_string(5 + 2 * i) + " 0 R >>");
    objects.push_back("<< /Length " + std::to_string(content.size()) + " >>\nstream\n" + content + "\nendstream");
  }
  std::string pdf = "%PDF-1.4\n";
  std::vector<std::size_t> offsets;
  for (std::size_t i = 0; i < objects.size(); ++i) {
    offsets.push_back(pdf.size());
    pdf += std::to_string(i + 1) + " 0 obj\n" + objects[i] + "\nendobj\n";
  }
  const std::size_t xref = pdf.size();
  pdf += "xref\n0 " + std::to_string(objects.size() + 1) + "\n0000000000 65535 f \n";
  for (std::size_t off : offsets) {
    char line[32];
    std::snprintf(line, sizeof line, "%010zu 00000 n \n", off);
    pdf += line;
  }
  pdf += "trailer\n<< /Size " + std::to_string(objects.size() + 1) + " /Root 1 0 R >>\nstartxref\n" +
         std::to_string(xref) + "\n%%EOF\n";
  return pdf;
}

// A DOCX with the given paragraphs as (style, text); style "" is body text.
void make_docx(const std::filesystem::path& path, const std::vector<std::pair<std::string, std::string>>& paras) {
  std::string body;
  for (const auto& [style, text] : paras) {
    body += "<w:p>";
    if (!style.empty()) body += "<w:pPr><w:pStyle w:val=\"" + style + "\"/></w:pPr>";
    body += "<w:r><w:t xml:space=\"preserve\">" + text + "</w:t></w:r></w:p>";
  }
  const std::string xml =
      "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>"
      "<w:document xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\"><w:body>" +
      body + "</w:body></w:document>";
  int err = 0;
  zip_t* z = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &err);
  ASSERT_NE(z, nullptr);
  static const std::string types =
      "<?xml version=\"1.0\"?><Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\"/>";
  zip_source_t* s1 = zip_source_buffer(z, types.data(), types.size(), 0);
  zip_source_t* s2 = zip_source_buffer(z, xml.data(), xml.size(), 0);
  ASSERT_GE(zip_file_add(z, "[Content_Types].xml", s1, ZIP_FL_OVERWRITE), 0);
  ASSERT_GE(zip_file_add(z, "word/document.xml", s2, ZIP_FL_OVERWRITE), 0);
  ASSERT_EQ(zip_close(z), 0);  // writes while `xml` is still alive
}

TEST(ReadText, Utf8ParagraphsAndTitle) {
  TempDir d;
  write_file(d / "notes.txt", "Quarterly report\n\nRevenue grew.\nCosts fell.\n\n\nOutlook is good.\n");
  Document doc = read_document(d / "notes.txt");
  EXPECT_EQ(doc.title, "Quarterly report");
  EXPECT_EQ(doc.text, "Quarterly report\n\nRevenue grew.\nCosts fell.\n\nOutlook is good.");
  EXPECT_TRUE(doc.warnings.empty());
}

TEST(ReadText, Utf16WithBomIsConverted) {
  TempDir d;
  const std::u16string s = u"Grüße 日本 😀";
  std::string bytes = "\xff\xfe";
  for (char16_t c : s) {
    bytes += static_cast<char>(c & 0xff);
    bytes += static_cast<char>(c >> 8);
  }
  write_file(d / "u16.txt", bytes);
  EXPECT_EQ(read_document(d / "u16.txt").text, "Grüße 日本 😀");
  write_file(d / "odd.txt", bytes + "x");
  EXPECT_NE(error_of(d / "odd.txt").find("odd number of bytes"), std::string::npos);
}

TEST(ReadText, OtherEncodingsAreDetectedConvertedAndReported) {
  TempDir d;
  // ISO-8859-1 / Windows-1252 text: invalid as UTF-8.
  write_file(d / "latin.txt",
             "La cr\xe8me br\xfbl\xe9" "e est un dessert fran\xe7" "ais. Le caf\xe9 est tr\xe8s bon, et la "
             "tarte \xe0 la cr\xe8me aussi. D\xe9j\xe0 vu, na\xefve, \xe9t\xe9.\n");
  Document doc = read_document(d / "latin.txt");
  EXPECT_NE(doc.text.find("crème brûlée"), std::string::npos) << doc.text;
  ASSERT_EQ(doc.warnings.size(), 1u);
  EXPECT_NE(doc.warnings[0].find("converted from"), std::string::npos);
}

TEST(ReadText, BinaryNamedTxtAndZeroBytesAreRefusedWithReason) {
  TempDir d;
  write_file(d / "fake.txt", std::string("\x7f" "ELF\x02\x01\x01\0\0\0\0\0\0\0\0\0", 16));
  EXPECT_NE(error_of(d / "fake.txt").find("fake.txt: binary content"), std::string::npos);
  write_file(d / "empty.txt", "");
  EXPECT_NE(error_of(d / "empty.txt").find("empty.txt: zero bytes"), std::string::npos);
}

TEST(ReadMarkdown, HeadingsBecomeSectionPaths) {
  TempDir d;
  write_file(d / "guide.md",
             "# User Guide\n\nIntro text.\n\n## Install\n\nRun *setup*.\n\n### Linux\n\nUse `apt-get`.\n\n"
             "## Use\n\n- one\n- two\n\n```\ncode here\n```\n");
  Document doc = read_document(d / "guide.md");
  EXPECT_EQ(doc.title, "User Guide");
  std::vector<std::string> paths;
  for (const auto& s : doc.sections) paths.push_back(s.path);
  EXPECT_EQ(paths, (std::vector<std::string>{"User Guide", "User Guide > Install", "User Guide > Install > Linux",
                                             "User Guide > Use"}));
  EXPECT_NE(doc.text.find("Use apt-get."), std::string::npos);
  EXPECT_NE(doc.text.find("code here"), std::string::npos);
  const Section& linux_section = doc.sections[2];
  EXPECT_NE(doc.text.substr(linux_section.begin, linux_section.end - linux_section.begin).find("apt-get"),
            std::string::npos);
}

TEST(ReadHtml, MainTextAndHeadingsWithoutScriptsStylesOrNavigation) {
  TempDir d;
  write_file(d / "page.html",
             "<!DOCTYPE html><html><head><title> The  Page </title><style>body{color:red}</style>"
             "<script>var secret = 1;</script></head><body><nav>Home | About</nav>"
             "<h1>Main   Title</h1><p>First\n   paragraph.</p><script>alert('x')</script>"
             "<h2>Details</h2><div>More <b>bold</b> text.</div><footer>(c) site</footer></body></html>");
  Document doc = read_document(d / "page.html");
  EXPECT_EQ(doc.title, "The Page");
  EXPECT_EQ(doc.text, "Main Title\n\nFirst paragraph.\n\nDetails\n\nMore bold text.");
  ASSERT_EQ(doc.sections.size(), 2u);
  EXPECT_EQ(doc.sections[1].path, "Main Title > Details");
}

TEST(ReadHtml, DeepMarkupUpToTheLimitIsReadAndDeeperIsRefusedBeforeParsing) {
  TempDir d;
  std::string html = "<html><body>";
  for (int i = 0; i < 1000; ++i) html += "<span>";
  html += "deep text";
  write_file(d / "deep.html", html);
  EXPECT_NE(read_document(d / "deep.html").text.find("deep text"), std::string::npos);
  // 200,000 unclosed <div>: the parser's time grows with tags x depth (it never finished); refused
  // with the byte where the limit was passed.
  std::string hostile = "<html><body>";
  for (int i = 0; i < 200000; ++i) hostile += "<div>";
  write_file(d / "hostile.html", hostile + "x");
  try {
    read_document(d / "hostile.html");
    FAIL() << "accepted";
  } catch (const ReadError& e) {
    EXPECT_NE(std::string(e.what()).find("hostile.html: HTML nested more than 1024 elements deep (at byte 5132)"),
              std::string::npos) << e.what();
  }
}

TEST(ReadHtml, OptionalEndTagsVoidElementsAndScriptTextDoNotCountAsDepth) {
  TempDir d;
  std::string html = "<html><body><script>";
  for (int i = 0; i < 3000; ++i) html += "<div>";  // text inside a script
  html += "</script>";
  for (int i = 0; i < 3000; ++i) html += "<p>para " + std::to_string(i) + "<li>item<br><img src=x>";
  write_file(d / "ordinary.html", html + "<p>last words</body></html>");
  EXPECT_NE(read_document(d / "ordinary.html").text.find("last words"), std::string::npos);
}

TEST(ReadText, ManyShortParagraphsInOnePass) {
  TempDir d;
  // 200,000 paragraphs (3.6 MB): the old splitter searched the rest of the file from each one.
  std::string text;
  for (int i = 0; i < 200000; ++i) text += "Paragraph " + std::to_string(i) + "\n\n";
  write_file(d / "many.txt", text);
  const Document doc = read_document(d / "many.txt");
  EXPECT_EQ(doc.text.substr(0, 26), "Paragraph 0\n\nParagraph 1\n\n");
  EXPECT_NE(doc.text.find("Paragraph 199999"), std::string::npos);
  write_file(d / "crlf.txt", "First line\r\nstill first\r\n\r\nSecond\r\n \r\nstill second\n\n\nThird");
  EXPECT_EQ(read_document(d / "crlf.txt").text, "First line\r\nstill first\n\nSecond\r\n \r\nstill second\n\nThird")
      << "a blank line ends a paragraph, LF or CRLF; a line of spaces does not";
}

TEST(ReadPdf, TextPerPageWithPageSpans) {
  TempDir d;
  write_file(d / "report.pdf", make_pdf({"Hello from page one", "Second page text"}));
  Document doc = read_document(d / "report.pdf");
  ASSERT_EQ(doc.pages.size(), 2u);
  const auto page_text = [&](int i) {
    return doc.text.substr(doc.pages[i].begin, doc.pages[i].end - doc.pages[i].begin);
  };
  EXPECT_NE(page_text(0).find("Hello from page one"), std::string::npos) << doc.text;
  EXPECT_NE(page_text(1).find("Second page text"), std::string::npos) << doc.text;
  EXPECT_EQ(page_text(0).find("Second"), std::string::npos);
}

TEST(ReadPdf, TruncatedAndTextlessPdfsAreRefusedWithReason) {
  TempDir d;
  const std::string pdf = make_pdf({"Some text"});
  write_file(d / "cut.pdf", pdf.substr(0, pdf.size() / 3));
  EXPECT_NE(error_of(d / "cut.pdf").find("cut.pdf: not a readable PDF"), std::string::npos) << error_of(d / "cut.pdf");
  write_file(d / "scan.pdf", make_pdf({"", ""}));
  EXPECT_NE(error_of(d / "scan.pdf").find("no text layer"), std::string::npos) << error_of(d / "scan.pdf");
}

TEST(ReadPdf, EncryptedPdfIsRefusedAsSuch) {
  TempDir d;
  write_file(d / "plain.pdf", make_pdf({"Confidential figures"}));
  const std::string cmd = "qpdf --encrypt secret owner 256 -- '" + (d / "plain.pdf").string() + "' '" +
                          (d / "locked.pdf").string() + "' 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << "qpdf (installed by scripts/setup) could not encrypt the fixture";
  const std::string err = error_of(d / "locked.pdf");
  EXPECT_NE(err.find("locked.pdf: the PDF is encrypted"), std::string::npos) << err;
}

TEST(ReadDocx, HeadingStylesBecomeSections) {
  TempDir d;
  make_docx(d / "memo.docx", {{"Title", "Budget Memo"}, {"", "Summary first."}, {"Heading1", "Costs"},
                              {"", "Travel &amp; rent."}, {"Heading2", "Travel"}, {"", "Trains."}});
  Document doc = read_document(d / "memo.docx");
  EXPECT_EQ(doc.title, "Budget Memo");
  EXPECT_NE(doc.text.find("Travel & rent."), std::string::npos);
  ASSERT_GE(doc.sections.size(), 3u);
  EXPECT_EQ(doc.sections.back().path, "Budget Memo > Costs > Travel");
}

TEST(ReadDocx, ZipBombAndBrokenContainersAreRefused) {
  TempDir d;
  make_docx(d / "bomb.docx", {{"", std::string(40u << 20, ' ') + "x"}});  // 40 MB of spaces: a small zip
  ReadLimits limits;
  limits.max_inflated_bytes = 8u << 20;
  EXPECT_NE(error_of(d / "bomb.docx", limits).find("inflates past 8 MiB"), std::string::npos);
  make_docx(d / "ok.docx", {{"", "fine"}});
  const std::string bytes = test::read_file(d / "ok.docx");
  write_file(d / "cut.docx", bytes.substr(0, bytes.size() / 2));
  EXPECT_NE(error_of(d / "cut.docx").find("cut.docx"), std::string::npos);
}


TEST(ReadDocx, ManyParagraphsAreStreamedInFlatMemory) {
  // 400,000 tiny paragraphs: about 30 MB of XML whose tree would take hundreds of MB; the
  // streaming reader holds one node at a time, so its growth stays under the budget it is given.
  TempDir d;
  std::vector<std::pair<std::string, std::string>> paras(400000, {"", "p"});
  paras.back().second = "the last paragraph";
  make_docx(d / "many.docx", paras);
  ReadLimits limits;
#if defined(__SANITIZE_ADDRESS__)
  limits.max_memory_growth_bytes = 768u << 20;  // the sanitizer's quarantine keeps freed blocks resident
#else
  limits.max_memory_growth_bytes = 96u << 20;
#endif
  Document doc = read_document(d / "many.docx", limits);
  EXPECT_NE(doc.text.find("the last paragraph"), std::string::npos);
  EXPECT_EQ(doc.text.size(), 399999u * 3 + std::string("the last paragraph").size());
}

TEST(ReadDocx, NestedParagraphsAndBrokenXmlAreHandled) {
  TempDir d;
  make_docx(d / "box.docx", {{"", "outer <w:p><w:r><w:t>inner</w:t></w:r></w:p> tail"}});
  EXPECT_NE(read_document(d / "box.docx").text.find("outer"), std::string::npos);
  make_docx(d / "bad.docx", {{"", "unclosed <w:r>"}});
  EXPECT_NE(error_of(d / "bad.docx").find("bad.docx: word/document.xml is not well-formed XML"), std::string::npos);
}

TEST(ReadBudget, AFileOverItsTimeBudgetIsRefusedWithTheReason) {
  TempDir d;
  write_file(d / "slow.txt", "First paragraph.\n\nSecond paragraph.\n");
  ReadLimits limits;
  limits.max_seconds = 1e-9;  // any read takes longer
  const std::string err = error_of(d / "slow.txt", limits);
  EXPECT_NE(err.find("slow.txt: reading took longer than the per-file budget"), std::string::npos) << err;
}

TEST(ReadBudget, CancelStopsAReadInsideTheFile) {
  TempDir d;
  write_file(d / "long.md", "# Title\n\nOne.\n\nTwo.\n");
  std::atomic<bool> cancel{true};
  ReadLimits limits;
  limits.cancel = &cancel;
  EXPECT_THROW(read_document(d / "long.md", limits), ReadCancelled);
  cancel = false;
  EXPECT_NO_THROW(read_document(d / "long.md", limits));
}


TEST(ReadText, Utf16WithoutByteOrderMarkIsDecodedAndSaid) {
  TempDir d;
  std::string le;
  for (char c : std::string("Caf\xc3\xa9 is not ASCII but this part is.\n")) le += c, le += '\0';
  // "Café" needs one UTF-16 unit for the é: write it properly, not byte by byte.
  le.replace(6, 4, std::string("\xe9\0", 2));
  write_file(d / "u16.txt", le);
  Document doc = read_document(d / "u16.txt");
  EXPECT_EQ(doc.text, "Caf\xc3\xa9 is not ASCII but this part is.");
  ASSERT_EQ(doc.warnings.size(), 1u);
  EXPECT_EQ(doc.warnings[0], "read as UTF-16LE (no byte-order mark)");
}

TEST(ReadText, AFewInvalidUtf8BytesAreReplacedAndCountedWithTheirOffset) {
  TempDir d;
  std::string text = "Na\xc3\xafve text, mostly fine. ";
  for (int i = 0; i < 20; ++i) text += "A long stretch of valid words keeps the bad bytes rare. ";
  const std::size_t bad_at = text.size();
  text += "\xff\xfe end.";
  write_file(d / "damaged.txt", text);
  Document doc = read_document(d / "damaged.txt");
  EXPECT_NE(doc.text.find("\xef\xbf\xbd\xef\xbf\xbd end."), std::string::npos);
  ASSERT_EQ(doc.warnings.size(), 1u);
  EXPECT_EQ(doc.warnings[0], "2 invalid UTF-8 byte(s) replaced by U+FFFD, the first at byte " + std::to_string(bad_at));
}

TEST(ReadText, TextThatIsNoEncodingAtAllNamesTheFirstBadByte) {
  TempDir d;
  std::string text = "ok ";
  for (int i = 0; i < 64; ++i) text += "\xc3\xa9\xff\xfe\x80";  // valid UTF-8 mixed with far too many bad bytes
  write_file(d / "noise.txt", text);
  const std::string err = error_of(d / "noise.txt");
  EXPECT_NE(err.find("noise.txt: not valid UTF-8 (192 bad byte(s), the first at byte 5)"), std::string::npos) << err;
}

}  // namespace
}  // namespace hd
