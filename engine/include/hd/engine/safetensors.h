#pragma once
// Reading and writing the safetensors format (https://huggingface.co/docs/safetensors):
//   [u64 little-endian header length N][N bytes of JSON header][tensor data]
// Files are memory-mapped; nothing is copied until a tensor is converted. Every header is
// validated before use, and each error names the file and the tensor.
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "hd/engine/dtype.h"

namespace hd {

class WeightsError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A tensor inside a mapped file: valid while its SafetensorsFile lives.
struct TensorView {
  std::string name;
  DType dtype = DType::f32;
  std::vector<std::int64_t> shape;
  const unsigned char* data = nullptr;
  std::size_t nbytes = 0;
  std::filesystem::path file;

  std::int64_t numel() const;
  std::string shape_text() const;  // "[4096, 3, 1, 2]"
  // The values as float32 (converted from bf16/f16 where stored so).
  std::vector<float> to_floats() const;
};

class SafetensorsFile {
 public:
  // Maps and validates `path`. Throws WeightsError naming the file (and tensor) on any problem.
  static std::unique_ptr<SafetensorsFile> open(const std::filesystem::path& path);
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::filesystem::path& path() const { return path_; }
  const std::map<std::string, TensorView>& tensors() const { return tensors_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  std::uint64_t file_size() const { return size_; }

 private:
  SafetensorsFile() = default;
  std::filesystem::path path_;
  void* map_ = nullptr;
  std::uint64_t size_ = 0;
  std::map<std::string, TensorView> tensors_;
  std::map<std::string, std::string> metadata_;
};

// A tensor to write: raw bytes already in `dtype` layout.
struct TensorData {
  std::string name;
  DType dtype = DType::f32;
  std::vector<std::int64_t> shape;
  std::vector<unsigned char> bytes;
};

// Writes tensors (in the given order) to `path` atomically: a temporary file, fsync, rename.
void write_safetensors(const std::filesystem::path& path, const std::vector<const TensorData*>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

// Upper bound on the JSON header we accept: real checkpoints have headers of tens of KB.
constexpr std::uint64_t kMaxSafetensorsHeaderBytes = 100ull << 20;

}  // namespace hd
