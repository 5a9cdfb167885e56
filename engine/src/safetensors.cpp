#include "hd/engine/safetensors.h"

#include "hd/engine/atomic_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

#include <nlohmann/json.hpp>

namespace hd {
namespace {

using nlohmann::json;

[[noreturn]] void fail(const std::filesystem::path& path, const std::string& problem) {
  throw WeightsError(path.string() + ": " + problem);
}

bool parse_dtype(const std::string& s, DType& out) {
  if (s == "F32") out = DType::f32;
  else if (s == "BF16") out = DType::bf16;
  else if (s == "F16") out = DType::f16;
  else if (s == "I64") out = DType::i64;
  else return false;
  return true;
}

}  // namespace

std::int64_t TensorView::numel() const {
  std::int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

std::string TensorView::shape_text() const {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

std::vector<float> TensorView::to_floats() const {
  std::vector<float> out(static_cast<std::size_t>(numel()));
  to_float(dtype, data, out.data(), out.size());
  return out;
}

std::unique_ptr<SafetensorsFile> SafetensorsFile::open(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(path, std::string("cannot open: ") + std::strerror(errno));
  struct stat st{};
  if (fstat(fd, &st) != 0) {
    ::close(fd);
    fail(path, std::string("cannot stat: ") + std::strerror(errno));
  }
  auto size = static_cast<std::uint64_t>(st.st_size);
  if (size < 8) {
    ::close(fd);
    fail(path, "truncated: " + std::to_string(size) + " bytes is shorter than the 8-byte header length");
  }
  void* map = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED) fail(path, std::string("cannot map: ") + std::strerror(errno));

  std::unique_ptr<SafetensorsFile> f(new SafetensorsFile());
  f->path_ = path;
  f->map_ = map;
  f->size_ = size;
  const auto* base = static_cast<const unsigned char*>(map);

  std::uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | base[i];  // little-endian
  if (header_len > kMaxSafetensorsHeaderBytes) {
    fail(path, "header length " + std::to_string(header_len) + " exceeds the " +
                   std::to_string(kMaxSafetensorsHeaderBytes) + "-byte limit (not a safetensors file?)");
  }
  if (header_len > size - 8) {
    fail(path, "truncated: header claims " + std::to_string(header_len) + " bytes but the file has " +
                   std::to_string(size - 8) + " after the length");
  }
  json header;
  try {
    header = json::parse(base + 8, base + 8 + header_len);
  } catch (const json::parse_error& e) {
    fail(path, std::string("header is not valid JSON: ") + e.what());
  }
  if (!header.is_object()) fail(path, "header is not a JSON object");

  const unsigned char* data = base + 8 + header_len;
  const std::uint64_t data_size = size - 8 - header_len;
  struct Span { std::uint64_t begin, end; const std::string* name; };
  std::vector<Span> spans;

  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& name = it.key();
    const json& t = it.value();
    if (name == "__metadata__") {
      if (!t.is_object()) fail(path, "__metadata__ must be an object of strings");
      for (auto m = t.begin(); m != t.end(); ++m) {
        if (!m.value().is_string()) fail(path, "__metadata__ value for \"" + m.key() + "\" is not a string");
        f->metadata_[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    auto bad = [&](const std::string& problem) { fail(path, "tensor \"" + name + "\": " + problem); };
    if (!t.is_object() || !t.contains("dtype") || !t.contains("shape") || !t.contains("data_offsets")) {
      bad("entry needs dtype, shape and data_offsets");
    }
    TensorView v;
    v.name = name;
    v.file = path;
    if (!t["dtype"].is_string()) bad("dtype is not a string");
    if (!parse_dtype(t["dtype"].get<std::string>(), v.dtype)) {
      bad("unsupported dtype " + t["dtype"].get<std::string>() + " (expected BF16, F16, F32 or I64)");
    }
    if (!t["shape"].is_array()) bad("shape is not a list");
    std::uint64_t numel = 1;
    for (const json& d : t["shape"]) {
      if (!d.is_number_unsigned()) bad("shape has a non-integer or negative dimension");
      auto dim = d.get<std::uint64_t>();
      if (dim > (1ull << 40) || (dim && numel > (1ull << 62) / dim)) bad("shape is implausibly large");
      numel *= dim;
      v.shape.push_back(static_cast<std::int64_t>(dim));
    }
    const json& off = t["data_offsets"];
    if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned()) {
      bad("data_offsets must be two non-negative integers");
    }
    auto begin = off[0].get<std::uint64_t>(), end = off[1].get<std::uint64_t>();
    if (begin > end) bad("data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) + "] are reversed");
    if (end > data_size) {
      bad("data_offsets end " + std::to_string(end) + " is past the end of the data (" + std::to_string(data_size) +
          " bytes): file truncated?");
    }
    if (end - begin != numel * dtype_size(v.dtype)) {
      bad("holds " + std::to_string(end - begin) + " bytes but " + dtype_name(v.dtype) + " " + v.shape_text() +
          " needs " + std::to_string(numel * dtype_size(v.dtype)));
    }
    v.data = data + begin;
    v.nbytes = end - begin;
    auto [pos, inserted] = f->tensors_.emplace(name, std::move(v));
    spans.push_back({begin, end, &pos->first});
  }

  std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) { return a.begin < b.begin; });
  for (std::size_t i = 1; i < spans.size(); ++i) {
    if (spans[i].begin < spans[i - 1].end) {
      fail(path, "tensors \"" + *spans[i - 1].name + "\" and \"" + *spans[i].name + "\" overlap in the file");
    }
  }
  return f;
}

SafetensorsFile::~SafetensorsFile() {
  if (map_) munmap(map_, size_);
}

void write_safetensors(const std::filesystem::path& path, const std::vector<const TensorData*>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  json header = json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::uint64_t offset = 0;
  for (const TensorData* t : tensors) {
    std::uint64_t numel = 1;
    for (auto d : t->shape) numel *= static_cast<std::uint64_t>(d);
    if (numel * dtype_size(t->dtype) != t->bytes.size()) {
      throw WeightsError(path.string() + ": tensor \"" + t->name + "\" has " + std::to_string(t->bytes.size()) +
                         " bytes, its shape needs " + std::to_string(numel * dtype_size(t->dtype)));
    }
    header[t->name] = {{"dtype", dtype_name(t->dtype)}, {"shape", t->shape},
                       {"data_offsets", {offset, offset + t->bytes.size()}}};
    offset += t->bytes.size();
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // the format pads the header to 8 bytes with spaces

  try {
    write_file_atomically(path, [&](std::ostream& out) {
      unsigned char len[8];
      const std::uint64_t n = text.size();
      for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>(n >> (8 * i));
      out.write(reinterpret_cast<const char*>(len), 8);
      out.write(text.data(), static_cast<std::streamsize>(text.size()));
      for (const TensorData* t : tensors) {
        out.write(reinterpret_cast<const char*>(t->bytes.data()), static_cast<std::streamsize>(t->bytes.size()));
      }
    });
  } catch (const WeightsError&) {
    throw;
  } catch (const std::exception& e) {
    throw WeightsError(e.what());
  }
}

}  // namespace hd
