#pragma once
// What the CUDA backend keeps per session (KV caches, Hyena states, the decode graph), what
// it keeps per chunk (working buffers), and saved states in pinned host memory.
#include <cuda_bf16.h>
#include <cuda_runtime_api.h>

#include <memory>
#include <mutex>
#include <type_traits>
#include <vector>

#include "hd/engine/backend.h"
#include "hd/kernels/cuda_context.h"
#include "hd/kernels/modal_scan.h"

namespace hd::cuda {

template <typename T>
constexpr cudaDataType kCudaType = std::is_same_v<T, float> ? CUDA_R_32F : CUDA_R_16BF;

// Page-locked host memory: copies to and from the GPU run at full link speed.
class PinnedBytes {
 public:
  explicit PinnedBytes(std::size_t n) : size_(n) {
    if (n) HD_CUDA_CHECK(cudaMallocHost(&data_, n));
  }
  ~PinnedBytes() {
    if (data_) cudaFreeHost(data_);
  }
  PinnedBytes(const PinnedBytes&) = delete;
  PinnedBytes& operator=(const PinnedBytes&) = delete;
  void* data() const { return data_; }
  std::size_t size() const { return size_; }

 private:
  void* data_ = nullptr;
  std::size_t size_ = 0;
};

// Pinned buffers that saved states give back when they are dropped, so the next save of a
// similar size reuses one instead of allocating: page-locking gigabytes (cudaMallocHost) costs
// more than copying them. At most `keep_bytes` are kept unused; the rest is freed.
class PinnedPool {
 public:
  explicit PinnedPool(std::size_t keep_bytes) : keep_(keep_bytes) {}
  // A buffer of at least n bytes: the smallest kept one that fits, else a new one.
  std::unique_ptr<PinnedBytes> acquire(std::size_t n) {
    std::lock_guard<std::mutex> lock(mutex_);
    std::size_t best = free_.size();
    for (std::size_t i = 0; i < free_.size(); ++i) {
      if (free_[i]->size() >= n && (best == free_.size() || free_[i]->size() < free_[best]->size())) best = i;
    }
    if (best < free_.size() && free_[best]->size() <= 2 * n + (64u << 20)) {  // not a huge buffer for a small state
      std::unique_ptr<PinnedBytes> b = std::move(free_[best]);
      free_.erase(free_.begin() + static_cast<std::ptrdiff_t>(best));
      kept_ -= b->size();
      ++reused_;
      return b;
    }
    return std::make_unique<PinnedBytes>(n + n / 16);  // room for a later save a little longer
  }
  void give_back(std::unique_ptr<PinnedBytes> b) {
    if (!b) return;
    std::lock_guard<std::mutex> lock(mutex_);
    if (b->size() > keep_) return;  // freed
    while (kept_ + b->size() > keep_ && !free_.empty()) {  // drop the oldest kept
      kept_ -= free_.front()->size();
      free_.erase(free_.begin());
    }
    kept_ += b->size();
    free_.push_back(std::move(b));
  }
  std::size_t reused() const { return reused_; }

 private:
  std::mutex mutex_;
  std::vector<std::unique_ptr<PinnedBytes>> free_;
  std::size_t keep_ = 0, kept_ = 0, reused_ = 0;
};

// The used part of every device buffer of a state, back to back: in pinned host memory (a
// buffer of the backend's pool, returned to it when the saved state is dropped), or in GPU
// memory (the prefill cache's fastest tier).
struct CudaSaved final : SavedState {
  const void* owner = nullptr;  // the backend (weights, layout) the bytes belong to
  std::int64_t pos = 0;
  std::size_t used = 0;
  std::unique_ptr<PinnedBytes> bytes_;   // host copy
  DeviceBuffer<unsigned char> device_;   // or device copy
  std::shared_ptr<PinnedPool> pool;
  ~CudaSaved() override {
    if (pool) pool->give_back(std::move(bytes_));
  }
  const void* data() const { return bytes_ ? bytes_->data() : static_cast<const void*>(device_.data()); }
  std::int64_t position() const override { return pos; }
  std::uint64_t bytes() const override { return used; }
  bool on_device() const override { return !bytes_; }
  std::span<const std::byte> host_bytes() const override {
    if (!bytes_) return {};
    return {static_cast<const std::byte*>(bytes_->data()), used};
  }
  std::span<std::byte> writable_host_bytes() override {
    if (!bytes_) return {};
    return {static_cast<std::byte*>(bytes_->data()), used};
  }
};

template <typename T>
struct BlockState {
  DeviceBuffer<T> k, v;         // attention: [capacity, kv_width]
  DeviceBuffer<float> fir;      // Hyena: [taps-1, 3D]
  DeviceBuffer<float2> iir;     // Hyena: [D, S]
};

// The one-token step as a CUDA graph, captured per state on its second decode call (the
// first runs eagerly so lazy allocations happen outside the capture). Kernels read the
// position from `position`; token and position reach the GPU through pinned `io`.
struct DecodeGraph {
  struct Io {
    long long position;
    int token;
  };
  std::unique_ptr<PinnedBytes> io, logits;  // Io; float[vocab]
  DeviceBuffer<long long> position;
  DeviceBuffer<float> attention_scratch;
  cudaGraphExec_t exec = nullptr;
  int eager_runs = 0;
  ~DecodeGraph() {
    if (exec) cudaGraphExecDestroy(exec);
  }
};

template <typename T>
struct CudaState final : BackendState {
  std::int64_t pos = 0, capacity = 0;
  std::vector<BlockState<T>> blocks;
  DecodeGraph graph;
  std::int64_t position() const override { return pos; }
  std::uint64_t bytes() const override {
    std::uint64_t n = 0;
    for (const auto& b : blocks) n += b.k.bytes() + b.v.bytes() + b.fir.bytes() + b.iir.bytes();
    return n;
  }
};

// Buffers for one chunk of up to `rows` tokens.
template <typename T>
struct Workspace {
  int rows = 0;
  DeviceBuffer<int> tokens;
  DeviceBuffer<float> x, u, fir_scratch, logits;
  DeviceBuffer<T> normed, qkv, q, mixed, delta, z, x2, y, ab, gated;
  DeviceBuffer<float2> scan_scratch;

  Workspace(const ModelConfig& c, int chunk) : rows(chunk) {
    const std::size_t r = chunk, d = c.hidden_size, kv = static_cast<std::size_t>(c.num_kv_heads) * c.head_dim();
    tokens = DeviceBuffer<int>(r);
    x = DeviceBuffer<float>(r * d);
    u = DeviceBuffer<float>(r * d);
    fir_scratch = DeviceBuffer<float>(static_cast<std::size_t>(c.short_filter_length - 1) * 3 * d);
    logits = DeviceBuffer<float>(r * c.vocab_size);
    normed = DeviceBuffer<T>(r * d);
    qkv = DeviceBuffer<T>(r * (d + 2 * kv));
    q = DeviceBuffer<T>(r * d);
    mixed = DeviceBuffer<T>(r * d);
    delta = DeviceBuffer<T>(r * d);
    z = DeviceBuffer<T>(r * 3 * d);
    x2 = DeviceBuffer<T>(r * d);
    y = DeviceBuffer<T>(r * d);
    ab = DeviceBuffer<T>(r * 2 * c.inner_mlp_size);
    gated = DeviceBuffer<T>(r * c.inner_mlp_size);
    scan_scratch = DeviceBuffer<float2>(modal_scan_scratch_elements(chunk, c.hidden_size, c.state_size));
  }
};

}  // namespace hd::cuda
