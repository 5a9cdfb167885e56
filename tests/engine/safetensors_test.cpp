// The safetensors reader on good files and on each way a file can be damaged.
#include <gtest/gtest.h>

#include <cstring>

#include "hd/engine/safetensors.h"
#include "support/temp_dir.h"

namespace hd {
namespace {

using test::TempDir;

// A file from a raw header text and a data section, as a broken writer might produce.
std::string raw_file(const std::string& header, const std::string& data) {
  std::string out(8, '\0');
  std::uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>(n >> (8 * i));
  return out + header + data;
}

TensorData f32_tensor(const std::string& name, std::vector<std::int64_t> shape, std::vector<float> values) {
  TensorData t{name, DType::f32, std::move(shape), {}};
  t.bytes.resize(values.size() * 4);
  std::memcpy(t.bytes.data(), values.data(), t.bytes.size());
  return t;
}

std::string open_error(const std::filesystem::path& p) {
  try {
    SafetensorsFile::open(p);
  } catch (const WeightsError& e) {
    return e.what();
  }
  return "";
}

TEST(Safetensors, WritesAndReadsBackExactly) {
  TempDir dir;
  TensorData a = f32_tensor("a", {2, 3}, {1, 2, 3, 4, 5, 6});
  TensorData b{"b", DType::bf16, {3}, {}};
  for (float v : {1.0f, -2.0f, 0.5f}) {
    std::uint16_t h = float_to_bf16(v);
    b.bytes.push_back(static_cast<unsigned char>(h & 0xff));
    b.bytes.push_back(static_cast<unsigned char>(h >> 8));
  }
  write_safetensors(dir / "m.safetensors", {&a, &b}, {{"format", "pt"}});
  auto f = SafetensorsFile::open(dir / "m.safetensors");
  ASSERT_EQ(f->tensors().size(), 2u);
  EXPECT_EQ(f->metadata().at("format"), "pt");
  const TensorView& va = f->tensors().at("a");
  EXPECT_EQ(va.shape, (std::vector<std::int64_t>{2, 3}));
  EXPECT_EQ(va.to_floats(), (std::vector<float>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(f->tensors().at("b").to_floats(), (std::vector<float>{1.0f, -2.0f, 0.5f}));
  EXPECT_FALSE(std::filesystem::exists(dir / "m.safetensors.tmp")) << "the temporary file must be renamed away";
}

TEST(Safetensors, ReadsAFileWrittenByTheSafetensorsLibrary) {
  // Bytes of safetensors.torch.save_file({"x": torch.tensor([[1., 2.]], dtype=torch.float32)}):
  // header {"x":{"dtype":"F32","shape":[1,2],"data_offsets":[0,8]}} padded with spaces to 8 bytes.
  TempDir dir;
  std::string header = R"({"x":{"dtype":"F32","shape":[1,2],"data_offsets":[0,8]}})";
  header.append((8 - header.size() % 8) % 8, ' ');
  float v[2] = {1.f, 2.f};
  test::write_file(dir / "x.safetensors", raw_file(header, std::string(reinterpret_cast<char*>(v), 8)));
  auto f = SafetensorsFile::open(dir / "x.safetensors");
  EXPECT_EQ(f->tensors().at("x").to_floats(), (std::vector<float>{1.f, 2.f}));
}

TEST(Safetensors, RejectsZeroByteAndShortFiles) {
  TempDir dir;
  test::write_file(dir / "empty.safetensors", "");
  EXPECT_NE(open_error(dir / "empty.safetensors").find("truncated"), std::string::npos);
  test::write_file(dir / "short.safetensors", "abc");
  EXPECT_NE(open_error(dir / "short.safetensors").find("short.safetensors: truncated"), std::string::npos);
}

TEST(Safetensors, RejectsHeaderLengthPastTheFileOrTheLimit) {
  TempDir dir;
  std::string f = raw_file(R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", "abcd");
  test::write_file(dir / "cut.safetensors", f.substr(0, 20));  // truncated inside the header
  EXPECT_NE(open_error(dir / "cut.safetensors").find("truncated: header claims"), std::string::npos);
  std::string huge(8, '\xff');
  test::write_file(dir / "huge.safetensors", huge + "{}");
  EXPECT_NE(open_error(dir / "huge.safetensors").find("exceeds the"), std::string::npos);
}

TEST(Safetensors, RejectsTruncatedData) {
  TempDir dir;
  TensorData a = f32_tensor("weights", {4}, {1, 2, 3, 4});
  write_safetensors(dir / "full.safetensors", {&a});
  std::string bytes = test::read_file(dir / "full.safetensors");
  test::write_file(dir / "trunc.safetensors", bytes.substr(0, bytes.size() - 3));
  std::string err = open_error(dir / "trunc.safetensors");
  EXPECT_NE(err.find("trunc.safetensors"), std::string::npos) << err;
  EXPECT_NE(err.find("\"weights\""), std::string::npos) << err;
  EXPECT_NE(err.find("past the end"), std::string::npos) << err;
}

TEST(Safetensors, RejectsOverlappingTensors) {
  TempDir dir;
  test::write_file(dir / "o.safetensors",
                   raw_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                            R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                            std::string(12, '\0')));
  std::string err = open_error(dir / "o.safetensors");
  EXPECT_NE(err.find("\"a\" and \"b\" overlap"), std::string::npos) << err;
}

TEST(Safetensors, RejectsByteLengthThatDisagreesWithShape) {
  TempDir dir;
  test::write_file(dir / "s.safetensors",
                   raw_file(R"({"a":{"dtype":"BF16","shape":[3],"data_offsets":[0,8]}})", std::string(8, '\0')));
  std::string err = open_error(dir / "s.safetensors");
  EXPECT_NE(err.find("holds 8 bytes but BF16 [3] needs 6"), std::string::npos) << err;
}

TEST(Safetensors, RejectsUnsupportedDtypeAndMalformedEntries) {
  TempDir dir;
  test::write_file(dir / "d.safetensors",
                   raw_file(R"({"a":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}})", std::string(8, '\0')));
  EXPECT_NE(open_error(dir / "d.safetensors").find("unsupported dtype F64"), std::string::npos);
  test::write_file(dir / "m.safetensors", raw_file(R"({"a":{"dtype":"F32"}})", ""));
  EXPECT_NE(open_error(dir / "m.safetensors").find("needs dtype, shape and data_offsets"), std::string::npos);
  test::write_file(dir / "j.safetensors", raw_file("{not json", ""));
  EXPECT_NE(open_error(dir / "j.safetensors").find("not valid JSON"), std::string::npos);
  test::write_file(dir / "n.safetensors",
                   raw_file(R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", std::string(4, '\0')));
  EXPECT_NE(open_error(dir / "n.safetensors").find("negative dimension"), std::string::npos);
  test::write_file(dir / "r.safetensors",
                   raw_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}})", std::string(4, '\0')));
  EXPECT_NE(open_error(dir / "r.safetensors").find("reversed"), std::string::npos);
}

}  // namespace
}  // namespace hd
