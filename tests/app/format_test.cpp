#include <gtest/gtest.h>

#include "hd/app/format.h"
#include "hd/app/paths.h"

namespace hd {
namespace {

TEST(Format, BytesUseBinaryUnits) {
  EXPECT_EQ(format_bytes(512), "512 B");
  EXPECT_EQ(format_bytes(1536), "1.50 KiB");
  EXPECT_EQ(format_bytes(8ull << 30), "8.00 GiB");
}

TEST(Format, CountsScale) {
  EXPECT_EQ(format_count(4096), "4096");
  EXPECT_EQ(format_count(103'200'000), "103.2 M");
  EXPECT_EQ(format_count(7'612'000'000), "7.61 B");
}

TEST(Format, PrintableKeepsAFileNameOnOneLine) {
  EXPECT_EQ(printable("two\nlines.txt"), "two\\nlines.txt");
  EXPECT_EQ(printable(std::string("a\tb\x1b[2Jc\x7f", 9)), "a\\tb\\x1b[2Jc\\x7f");
  EXPECT_EQ(printable("caf\xc3\xa9 / r\xc3\xa9sum\xc3\xa9.pdf"), "caf\xc3\xa9 / r\xc3\xa9sum\xc3\xa9.pdf") << "UTF-8 stays as it is";
}

TEST(Paths, HyenadeskHomeOverridesTheDefault) {
  setenv("HYENADESK_HOME", "/tmp/hd-home-test", 1);
  EXPECT_EQ(default_store_dir(), std::filesystem::path("/tmp/hd-home-test/store"));
  EXPECT_EQ(default_models_dir(), std::filesystem::path("/tmp/hd-home-test/models"));
  unsetenv("HYENADESK_HOME");
  setenv("XDG_DATA_HOME", "/tmp/xdg", 1);
  EXPECT_EQ(data_home(), std::filesystem::path("/tmp/xdg/hyenadesk"));
  unsetenv("XDG_DATA_HOME");
}

}  // namespace
}  // namespace hd
