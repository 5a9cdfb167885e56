#include <gtest/gtest.h>

#include "hd/ingest/chunker.h"

namespace hd {
namespace {

// One token per word: simple and exact enough to check the bounds.
std::size_t words(std::string_view s) {
  std::size_t n = 0;
  bool in = false;
  for (char c : s) {
    const bool ws = c == ' ' || c == '\n' || c == '\t';
    if (!ws && !in) ++n;
    in = !ws;
  }
  return n;
}

Document two_sections() {
  Document d;
  DocumentBuilder b(d, 1 << 20);
  b.heading(1, "Intro");
  b.paragraph("one two three four five");
  b.paragraph("six seven eight nine ten");
  b.heading(2, "Method");
  b.paragraph("alpha beta gamma");
  b.finish();
  return d;
}

TEST(Chunker, ChunksStayWithinBudgetAndSections) {
  Document d = two_sections();
  auto chunks = chunk_document(d, {.max_tokens = 7, .overlap_tokens = 0}, words);
  ASSERT_GE(chunks.size(), 3u);
  for (const auto& c : chunks) {
    EXPECT_LE(c.tokens, 7u) << c.text;
    EXPECT_EQ(d.text.substr(c.begin, c.end - c.begin), c.text);
  }
  EXPECT_EQ(chunks.back().section_path, "Intro > Method");
  EXPECT_EQ(chunks.back().text, "Method\n\nalpha beta gamma");
}

TEST(Chunker, LongParagraphIsCutAtWordsAndNothingIsLost) {
  Document d;
  DocumentBuilder b(d, 1 << 20);
  std::string para;
  for (int i = 0; i < 50; ++i) para += "w" + std::to_string(i) + " ";
  b.paragraph(para);
  b.paragraph("tail words here");
  b.finish();
  auto chunks = chunk_document(d, {.max_tokens = 20, .overlap_tokens = 5}, words);
  ASSERT_GE(chunks.size(), 3u);
  for (const auto& c : chunks) EXPECT_LE(c.tokens, 20u) << c.text;
  // Every word of the document appears in some chunk, whole.
  std::string all;
  for (const auto& c : chunks) all += " " + c.text + " ";
  for (char& ch : all) ch = ch == '\n' ? ' ' : ch;
  for (int i = 0; i < 50; ++i) {
    const std::string w = " w" + std::to_string(i) + " ";
    EXPECT_NE(all.find(w), std::string::npos) << w;
  }
}

TEST(Chunker, OverlapRepeatsTheLastParagraphsOfTheSection) {
  Document d;
  DocumentBuilder b(d, 1 << 20);
  for (const char* p : {"a1 a2 a3", "b1 b2 b3", "c1 c2 c3", "d1 d2 d3"}) b.paragraph(p);
  b.finish();
  auto chunks = chunk_document(d, {.max_tokens = 7, .overlap_tokens = 3}, words);
  ASSERT_EQ(chunks.size(), 3u);
  EXPECT_EQ(chunks[0].text, "a1 a2 a3\n\nb1 b2 b3");
  EXPECT_EQ(chunks[1].text, "b1 b2 b3\n\nc1 c2 c3");
  EXPECT_EQ(chunks[2].text, "c1 c2 c3\n\nd1 d2 d3");
}

TEST(Chunker, PagesAreCarriedIntoChunks) {
  Document d;
  DocumentBuilder b(d, 1 << 20);
  b.start_page(1);
  b.paragraph("page one text");
  b.start_page(2);
  b.paragraph("page two text");
  b.finish();
  auto chunks = chunk_document(d, {.max_tokens = 3, .overlap_tokens = 0}, words);
  ASSERT_EQ(chunks.size(), 2u);
  EXPECT_EQ(chunks[0].page_first, 1);
  EXPECT_EQ(chunks[1].page_first, 2);
  EXPECT_EQ(chunks[1].page_last, 2);
}

TEST(Chunker, AChunkNeverCrossesAPageSoACitationNamesOnePage) {
  Document d;
  DocumentBuilder b(d, 1 << 20);
  b.start_page(1);
  b.paragraph("short first page");
  b.start_page(2);
  b.paragraph("short second page");
  b.paragraph("more of page two");
  b.finish();
  // Budget and overlap would let everything share one chunk; pages still split it, with no
  // overlap carried from page 1 into page 2.
  auto chunks = chunk_document(d, {.max_tokens = 100, .overlap_tokens = 50}, words);
  ASSERT_EQ(chunks.size(), 2u);
  EXPECT_EQ(chunks[0].page_first, 1);
  EXPECT_EQ(chunks[0].page_last, 1);
  EXPECT_EQ(chunks[1].page_first, 2);
  EXPECT_EQ(chunks[1].page_last, 2);
  EXPECT_EQ(chunks[1].text.find("first"), std::string::npos);
}

}  // namespace
}  // namespace hd
