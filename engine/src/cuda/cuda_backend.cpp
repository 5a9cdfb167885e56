// The CUDA backend: the same per-layer loop as the CPU reference, on kernels/ and cuBLAS.
// Activations feeding GEMMs are T (bf16, or float32 for tests); the residual stream and the
// Hyena states are float32. Prompts are processed in chunks of at most max_chunk tokens, so
// working memory is sized to the chunk; the KV cache is reserved up front for the session.
#include <cuda_bf16.h>

#include <cstring>
#include <mutex>
#include <type_traits>

#include "bf16_host.h"
#include "cuda_state.h"
#include "cuda_weights.h"
#include "hd/engine/backend.h"
#include "hd/engine/saved_state_file.h"
#include "hd/kernels/attention.h"
#include "hd/kernels/elementwise.h"
#include "hd/kernels/fft_conv.h"
#include "hd/kernels/gemm.h"
#include "hd/kernels/hyena_fir.h"
#include "hd/kernels/modal_scan.h"
#include "hd/kernels/rms_norm.h"
#include "hd/kernels/rotary.h"
#include "hd/kernels/device.h"

namespace hd::cuda {
namespace {

template <typename T>
class CudaBackend final : public Backend {
 public:
  CudaBackend(const Checkpoint& ck, const CudaBackendOptions& options)
      : config_(ck.config()), options_(options), ctx_(options.device) {
    if (config_.state_size > kMaxStateSize) {
      throw std::invalid_argument("CUDA backend: state_size " + std::to_string(config_.state_size) + " > " +
                                  std::to_string(kMaxStateSize));
    }
    if (options.max_chunk <= 0) throw std::invalid_argument("CUDA backend: max_chunk must be positive");
    weights_ = DeviceWeights<T>::upload(ck, ctx_.stream());
    work_ = std::make_unique<Workspace<T>>(config_, options.max_chunk);
    fft_conv_ = std::make_unique<FftLongConv>(config_.hidden_size, ctx_.stream());
    HD_CUDA_CHECK(cudaStreamCreateWithFlags(&copy_stream_, cudaStreamNonBlocking));
  }
  ~CudaBackend() override {
    if (copy_stream_) cudaStreamDestroy(copy_stream_);
  }

  std::string name() const override { return std::is_same_v<T, float> ? "cuda-f32" : "cuda-bf16"; }
  const ModelConfig& config() const override { return config_; }

  std::unique_ptr<BackendState> new_state(std::int64_t max_positions) const override {
    auto s = std::make_unique<CudaState<T>>();
    s->capacity = max_positions;
    const int d = config_.hidden_size, kv = config_.num_kv_heads * config_.head_dim();
    s->blocks.resize(config_.num_layers);
    for (int i = 0; i < config_.num_layers; ++i) {
      BlockState<T>& b = s->blocks[i];
      if (config_.blocks[i] == BlockKind::attention) {
        b.k = DeviceBuffer<T>(static_cast<std::size_t>(max_positions) * kv);
        b.v = DeviceBuffer<T>(static_cast<std::size_t>(max_positions) * kv);
      } else {
        b.fir = DeviceBuffer<float>(static_cast<std::size_t>(config_.short_filter_length - 1) * 3 * d);
        b.iir = DeviceBuffer<float2>(static_cast<std::size_t>(d) * config_.state_size);
        HD_CUDA_CHECK(cudaMemsetAsync(b.fir.data(), 0, b.fir.bytes(), ctx_.stream()));
        HD_CUDA_CHECK(cudaMemsetAsync(b.iir.data(), 0, b.iir.bytes(), ctx_.stream()));
      }
    }
    ctx_.synchronize();
    return s;
  }

  InferenceState to_host(const BackendState& state) const override {
    const auto& s = dynamic_cast<const CudaState<T>&>(state);
    InferenceState h = InferenceState::empty_for(config_);
    h.position = s.pos;
    for (int i = 0; i < config_.num_layers; ++i) {
      const BlockState<T>& b = s.blocks[i];
      if (config_.blocks[i] == BlockKind::attention) {
        const std::size_t n = static_cast<std::size_t>(s.pos) * h.attention[i].kv_width;
        for (auto [src, dst] : {std::pair{&b.k, &h.attention[i].k}, std::pair{&b.v, &h.attention[i].v}}) {
          std::vector<T> raw(n);
          if (n) HD_CUDA_CHECK(cudaMemcpy(raw.data(), src->data(), n * sizeof(T), cudaMemcpyDeviceToHost));
          dst->resize(n);
          for (std::size_t k = 0; k < n; ++k) (*dst)[k] = host_to_float(raw[k]);
        }
      } else {
        h.hyena[i].fir = b.fir.download(ctx_.stream());
        std::vector<float2> iir = b.iir.download(ctx_.stream());
        for (std::size_t k = 0; k < iir.size(); ++k) h.hyena[i].iir[k] = {iir[k].x, iir[k].y};
      }
    }
    return h;
  }

  void from_host(const InferenceState& h, BackendState& state) const override {
    auto& s = dynamic_cast<CudaState<T>&>(state);
    if (h.position > s.capacity) {
      throw std::invalid_argument("state of " + std::to_string(h.position) + " tokens exceeds the session's room for " +
                                  std::to_string(s.capacity));
    }
    for (int i = 0; i < config_.num_layers; ++i) {
      BlockState<T>& b = s.blocks[i];
      if (config_.blocks[i] == BlockKind::attention) {
        for (auto [src, dst] : {std::pair{&h.attention[i].k, &b.k}, std::pair{&h.attention[i].v, &b.v}}) {
          std::vector<T> raw(src->size());
          for (std::size_t k = 0; k < raw.size(); ++k) raw[k] = host_from_float<T>((*src)[k]);
          if (!raw.empty()) HD_CUDA_CHECK(cudaMemcpy(dst->data(), raw.data(), raw.size() * sizeof(T), cudaMemcpyHostToDevice));
        }
      } else {
        b.fir.upload(h.hyena[i].fir, ctx_.stream());
        std::vector<float2> iir(h.hyena[i].iir.size());
        for (std::size_t k = 0; k < iir.size(); ++k) iir[k] = {h.hyena[i].iir[k].real(), h.hyena[i].iir[k].imag()};
        b.iir.upload(iir, ctx_.stream());
        ctx_.synchronize();
      }
    }
    s.pos = h.position;
  }

  // Visits (device pointer, bytes in use) of every buffer of `s`, in a fixed order.
  template <typename F>
  void for_each_used_buffer(CudaState<T>& s, F&& f) const {
    const std::size_t kv = static_cast<std::size_t>(config_.num_kv_heads) * config_.head_dim();
    for (auto& b : s.blocks) {
      if (b.k.size()) {
        f(static_cast<void*>(b.k.data()), static_cast<std::size_t>(s.pos) * kv * sizeof(T));
        f(static_cast<void*>(b.v.data()), static_cast<std::size_t>(s.pos) * kv * sizeof(T));
      } else {
        f(static_cast<void*>(b.fir.data()), b.fir.bytes());
        f(static_cast<void*>(b.iir.data()), b.iir.bytes());
      }
    }
  }

  std::unique_ptr<SavedState> save(const BackendState& state) const override { return save_to(state, false); }
  std::unique_ptr<SavedState> save_on_device(const BackendState& state) const override { return save_to(state, true); }

  void load(const SavedState& saved_base, BackendState& state) const override {
    const auto* saved_ptr = dynamic_cast<const CudaSaved*>(&saved_base);
    if (!saved_ptr || saved_ptr->owner != this) {
      throw std::invalid_argument("this saved state belongs to another model or backend");
    }
    const CudaSaved& saved = *saved_ptr;
    auto& s = dynamic_cast<CudaState<T>&>(state);
    if (saved.pos > s.capacity) {
      throw std::invalid_argument("saved state of " + std::to_string(saved.pos) + " tokens exceeds the session's room for " +
                                  std::to_string(s.capacity));
    }
    s.pos = saved.pos;  // sizes below follow the saved position
    const auto* src = static_cast<const unsigned char*>(saved.data());
    for_each_used_buffer(s, [&](void* dst, std::size_t n) {
      HD_CUDA_CHECK(cudaMemcpyAsync(dst, src, n, cudaMemcpyDefault, ctx_.stream()));  // from host or device
      src += n;
    });
    ctx_.synchronize();
  }

  std::unique_ptr<SavedState> copy_to_host(const SavedState& base) const override {
    const auto* from = dynamic_cast<const CudaSaved*>(&base);
    if (!from || from->owner != this) throw std::invalid_argument("this saved state belongs to another model or backend");
    if (!from->on_device()) throw std::invalid_argument("this saved state is in host memory already");
    HD_CUDA_CHECK(cudaSetDevice(options_.device));  // the caller may be another thread
    auto saved = std::make_unique<CudaSaved>();
    saved->owner = this;
    saved->pos = from->pos;
    saved->used = from->used;
    saved->pool = pinned_pool_;
    saved->bytes_ = pinned_pool_->acquire(from->used);
    std::lock_guard<std::mutex> lock(copy_mutex_);
    HD_CUDA_CHECK(cudaMemcpyAsync(saved->bytes_->data(), from->device_.data(), from->used, cudaMemcpyDeviceToHost, copy_stream_));
    HD_CUDA_CHECK(cudaStreamSynchronize(copy_stream_));
    return saved;
  }

  std::unique_ptr<SavedState> blank_saved(std::int64_t position, std::uint64_t bytes) const override {
    if (position < 0 || bytes != saved_bytes(position)) {
      throw std::invalid_argument("a saved state of " + std::to_string(bytes) + " bytes at position " + std::to_string(position) +
                                  " does not fit this model's layout");
    }
    auto saved = std::make_unique<CudaSaved>();
    saved->owner = this;
    saved->pos = position;
    saved->used = bytes;
    saved->pool = pinned_pool_;
    saved->bytes_ = pinned_pool_->acquire(bytes);
    return saved;
  }
  std::uint64_t saved_layout() const override {
    return layout_tag(std::is_same_v<T, float> ? "cuda-float32-v1" : "cuda-bf16-v1", config_);
  }

  std::vector<float> forward(std::span<const int> tokens, BackendState& state,
                             const ForwardOptions& options) const override {
    std::lock_guard<std::mutex> lock(mutex_);  // one pass at a time over the shared workspace
    auto& s = dynamic_cast<CudaState<T>&>(state);
    if (s.pos + static_cast<std::int64_t>(tokens.size()) > s.capacity) {
      throw std::invalid_argument("CUDA backend: the session has room for " + std::to_string(s.capacity) + " tokens");
    }
    if (tokens.size() == 1 && options_.decode_graphs) return decode_step(tokens[0], s);
    std::vector<float> logits;
    const std::size_t chunk = static_cast<std::size_t>(work_->rows);
    for (std::size_t start = 0; start < tokens.size(); start += chunk) {
      const int rows = static_cast<int>(std::min(chunk, tokens.size() - start));
      const bool last = start + rows == tokens.size();
      run_chunk(tokens.subspan(start, rows), s, options.all_logits || last, options.all_logits, options.long_conv,
                logits);
    }
    return logits;
  }

 private:
  // The bytes a saved state at `position` holds (the same order as for_each_used_buffer).
  std::uint64_t saved_bytes(std::int64_t position) const {
    const std::uint64_t kv = static_cast<std::uint64_t>(config_.num_kv_heads) * config_.head_dim();
    const std::uint64_t d = static_cast<std::uint64_t>(config_.hidden_size);
    std::uint64_t n = 0;
    for (BlockKind k : config_.blocks) {
      n += k == BlockKind::attention ? 2 * static_cast<std::uint64_t>(position) * kv * sizeof(T)
                                     : static_cast<std::uint64_t>(config_.short_filter_length - 1) * 3 * d * sizeof(float) +
                                           d * static_cast<std::uint64_t>(config_.state_size) * sizeof(float2);
    }
    return n;
  }

  std::unique_ptr<SavedState> save_to(const BackendState& state, bool device) const {
    auto& s = const_cast<CudaState<T>&>(dynamic_cast<const CudaState<T>&>(state));
    std::size_t total = 0;
    for_each_used_buffer(s, [&](void*, std::size_t n) { total += n; });
    auto saved = std::make_unique<CudaSaved>();
    saved->owner = this;
    saved->pos = s.pos;
    saved->used = total;
    unsigned char* dst = nullptr;
    if (device) {
      saved->device_ = DeviceBuffer<unsigned char>(total);
      dst = saved->device_.data();
    } else {
      saved->pool = pinned_pool_;
      saved->bytes_ = pinned_pool_->acquire(total);
      dst = static_cast<unsigned char*>(saved->bytes_->data());
    }
    for_each_used_buffer(s, [&](void* src, std::size_t n) {
      HD_CUDA_CHECK(cudaMemcpyAsync(dst, src, n, device ? cudaMemcpyDeviceToDevice : cudaMemcpyDeviceToHost, ctx_.stream()));
      dst += n;
    });
    ctx_.synchronize();
    return saved;
  }

  std::vector<float> decode_step(int token, CudaState<T>& s) const {
    DecodeGraph& g = s.graph;
    cudaStream_t st = ctx_.stream();
    if (!g.io) {
      g.io = std::make_unique<PinnedBytes>(sizeof(DecodeGraph::Io));
      g.logits = std::make_unique<PinnedBytes>(static_cast<std::size_t>(config_.vocab_size) * sizeof(float));
      g.position = DeviceBuffer<long long>(1);
      g.attention_scratch = DeviceBuffer<float>(
          attention_decode_scratch_floats(config_.num_attention_heads, config_.head_dim(), s.capacity));
      HD_CUDA_CHECK(cudaMemsetAsync(g.attention_scratch.data(), 0, g.attention_scratch.bytes(), st));
    }
    auto* io = static_cast<DecodeGraph::Io*>(g.io->data());
    io->token = token;
    io->position = s.pos;
    std::vector<float> unused;
    const int one[1] = {token};
    if (g.eager_runs == 0) {  // first step: eager, so every lazy allocation happens now
      run_chunk(one, s, true, false, LongConvMethod::recurrence, unused, &g);
      ++g.eager_runs;
    } else {
      if (!g.exec) {
        cudaGraph_t graph = nullptr;
        HD_CUDA_CHECK(cudaStreamBeginCapture(st, cudaStreamCaptureModeThreadLocal));
        try {
          run_chunk(one, s, true, false, LongConvMethod::recurrence, unused, &g);
        } catch (...) {
          cudaStreamEndCapture(st, &graph);
          if (graph) cudaGraphDestroy(graph);
          throw;
        }
        HD_CUDA_CHECK(cudaStreamEndCapture(st, &graph));
        const cudaError_t err = cudaGraphInstantiate(&g.exec, graph, 0);
        cudaGraphDestroy(graph);
        HD_CUDA_CHECK(err);
      }
      HD_CUDA_CHECK(cudaGraphLaunch(g.exec, st));
    }
    ctx_.synchronize();
    s.pos += 1;
    const auto* out = static_cast<const float*>(g.logits->data());
    return std::vector<float>(out, out + config_.vocab_size);
  }

  void gemm(const T* x, const DeviceLinear<T>& l, T* y, int rows) const {
    if constexpr (std::is_same_v<T, __nv_bfloat16>) {
      if (l.bias.size()) {  // bf16 decode: the bias in the GEMV's epilogue, one launch fewer
        linear_bias_bf16(ctx_.cublas(), x, l.weight.data(), l.bias.data(), y, rows, l.in, l.out);
        return;
      }
    }
    linear(ctx_.cublas(), x, l.weight.data(), y, kCudaType<T>, kCudaType<T>, rows, l.in, l.out);
    if (l.bias.size()) bias_add<T>(y, l.bias.data(), rows, l.out, ctx_.stream());
  }

  // The MLP's first layer (l1 over l2) and its gate: y = act(x l1^T) * (x l2^T).
  void gated_mlp_in(const T* x, const DeviceLinear<T>& l, T* ab, T* y, int rows, GateActivation act) const {
    if constexpr (std::is_same_v<T, __nv_bfloat16>) {
      if (l.bias.size() == 0) {  // bf16: a decode row is one launch, the gate in the GEMV's epilogue
        linear_gated_bf16(ctx_.cublas(), x, l.weight.data(), ab, y, rows, l.in, l.out / 2, act);
        return;
      }
    }
    gemm(x, l, ab, rows);
    gated_activation<T>(ab, y, rows, l.out / 2, act, ctx_.stream());
  }

  // One pass over a chunk. With `graph` (a one-token step): the token and position come from
  // its pinned io, kernels read the position on the device, logits go to its pinned buffer,
  // and nothing waits on the host, so the pass can be captured and replayed.
  void run_chunk(std::span<const int> tokens, CudaState<T>& s, bool want_logits, bool all_rows,
                 LongConvMethod long_conv, std::vector<float>& logits, DecodeGraph* graph = nullptr) const {
    Workspace<T>& w = *work_;
    cudaStream_t st = ctx_.stream();
    const int rows = static_cast<int>(tokens.size()), d = config_.hidden_size;
    const float eps = static_cast<float>(config_.eps);
    const long long* device_position = nullptr;
    if (graph) {
      auto* io = static_cast<DecodeGraph::Io*>(graph->io->data());
      HD_CUDA_CHECK(cudaMemcpyAsync(w.tokens.data(), &io->token, sizeof(int), cudaMemcpyHostToDevice, st));
      HD_CUDA_CHECK(cudaMemcpyAsync(graph->position.data(), &io->position, sizeof(long long), cudaMemcpyHostToDevice, st));
      device_position = graph->position.data();
    } else {
      HD_CUDA_CHECK(cudaMemcpyAsync(w.tokens.data(), tokens.data(), rows * sizeof(int), cudaMemcpyHostToDevice, st));
    }
    embedding_gather<T>(w.tokens.data(), weights_.embedding.data(), w.x.data(), rows, d, st);

    for (int i = 0; i < config_.num_layers; ++i) {
      const DeviceBlock<T>& b = weights_.blocks[i];
      BlockState<T>& bs = s.blocks[i];
      // Past the first block, the previous block's last residual add already normed x here.
      if (i == 0) rms_norm_from_float<T>(w.x.data(), b.pre_norm.data(), w.normed.data(), rows, d, eps, st);
      if (b.kind == BlockKind::attention) {
        gemm(w.normed.data(), b.wqkv, w.qkv.data(), rows);
        RotaryCacheParams<T> rp;
        rp.qkv = w.qkv.data();
        rp.q_out = w.q.data();
        rp.k_cache = bs.k.data();
        rp.v_cache = bs.v.data();
        rp.rows = rows;
        rp.heads = config_.num_attention_heads;
        rp.kv_heads = config_.num_kv_heads;
        rp.head_dim = config_.head_dim();
        rp.first_position = s.pos;
        rp.device_position = device_position;
        rp.base = static_cast<float>(config_.rotary_emb_base);
        rp.scaling = config_.rotary_scaling_factor;
        rotary_qkv_to_cache<T>(rp, st);
        AttentionParams<T> ap;
        ap.q = w.q.data();
        ap.k_cache = bs.k.data();
        ap.v_cache = bs.v.data();
        ap.out = w.mixed.data();
        ap.rows = rows;
        ap.heads = rp.heads;
        ap.kv_heads = rp.kv_heads;
        ap.head_dim = rp.head_dim;
        ap.first_position = s.pos;
        if (graph) {
          ap.device_position = device_position;
          ap.capacity = s.capacity;
          ap.decode_scratch = graph->attention_scratch.data();
        }
        causal_attention<T>(ap, st);
        gemm(w.mixed.data(), b.out_proj, w.delta.data(), rows);
      } else {
        gemm(w.normed.data(), b.projections, w.z.data(), rows);
        FirSplitParams<T> fp;
        fp.z = w.z.data();
        fp.history = bs.fir.data();
        fp.weight = b.fir_weight.data();
        fp.bias = b.fir_bias.size() ? b.fir_bias.data() : nullptr;
        fp.x2 = w.x2.data();
        fp.u = w.u.data();
        fp.rows = rows;
        fp.dim = d;
        fp.taps = config_.short_filter_length;
        fp.heads = config_.num_attention_heads;
        fp.head_dim = config_.head_dim();
        fp.column_split = config_.column_split_hyena;
        if (rows == 1) {
          short_fir_step<T>(fp, bs.fir.data(), st);  // decode: one launch instead of three
        } else {
          short_fir_split<T>(fp, st);
          short_fir_advance_history<T>(w.z.data(), bs.fir.data(), w.fir_scratch.data(), rows, 3 * d,
                                       config_.short_filter_length, st);
        }
        ModalScanParams<T> sp;
        sp.u = w.u.data();
        sp.x2 = w.x2.data();
        sp.poles = b.poles.data();
        sp.residues = b.residues.data();
        sp.skip = b.skip.data();
        sp.state = bs.iir.data();
        sp.scratch = w.scan_scratch.data();
        sp.y = w.y.data();
        sp.rows = rows;
        sp.dim = d;
        sp.state_size = config_.state_size;
        // One-token steps always take the recurrence; prompts follow the caller's choice, and
        // `automatic` takes the scan (measured faster than cuFFT on an H100, see backend.h).
        if (long_conv == LongConvMethod::fft && rows > 1) fft_conv_->run<T>(sp);
        else modal_scan<T>(sp, st);
        gemm(w.y.data(), b.out_dense, w.delta.data(), rows);
      }
      residual_add_rms_norm<T>(w.x.data(), w.delta.data(), b.post_norm.data(), w.normed.data(), rows, d, eps, st);
      gated_mlp_in(w.normed.data(), b.mlp_in, w.ab.data(), w.gated.data(), rows,
                   config_.mlp_activation == MlpActivation::silu ? GateActivation::silu : GateActivation::gelu);
      gemm(w.gated.data(), b.mlp_out, w.delta.data(), rows);
      if (i + 1 < config_.num_layers) {
        residual_add_rms_norm<T>(w.x.data(), w.delta.data(), weights_.blocks[i + 1].pre_norm.data(), w.normed.data(), rows,
                                 d, eps, st);
      } else {
        residual_add<T>(w.x.data(), w.delta.data(), nullptr, rows, d, st);
      }
    }
    if (!graph) s.pos += rows;  // a graph step's position advances on the host, after the replay
    if (!want_logits) return;

    const int first = all_rows ? 0 : rows - 1, out_rows = rows - first;
    const float* x = w.x.data() + static_cast<std::size_t>(first) * d;
    if (config_.final_norm) {
      rms_norm_from_float<T>(x, weights_.final_norm.data(), w.normed.data(), out_rows, d, eps, st);
    } else {
      convert<float, T>(x, w.normed.data(), static_cast<long long>(out_rows) * d, st);
    }
    linear(ctx_.cublas(), w.normed.data(), weights_.output_embedding().data(), w.logits.data(), kCudaType<T>,
           CUDA_R_32F, out_rows, d, config_.vocab_size);
    if (graph) {
      HD_CUDA_CHECK(cudaMemcpyAsync(graph->logits->data(), w.logits.data(), config_.vocab_size * sizeof(float),
                                    cudaMemcpyDeviceToHost, st));
      return;
    }
    const std::size_t n = static_cast<std::size_t>(out_rows) * config_.vocab_size, at = logits.size();
    logits.resize(at + n);
    HD_CUDA_CHECK(cudaMemcpyAsync(logits.data() + at, w.logits.data(), n * sizeof(float), cudaMemcpyDeviceToHost, st));
    ctx_.synchronize();
  }

  ModelConfig config_;
  CudaBackendOptions options_;
  CudaContext ctx_;
  DeviceWeights<T> weights_;
  std::unique_ptr<Workspace<T>> work_;
  std::unique_ptr<FftLongConv> fft_conv_;  // FFT buffers are sized on first use per chunk length
  mutable std::mutex mutex_;
  cudaStream_t copy_stream_ = nullptr;  // background copies of saved states (copy_to_host)
  mutable std::mutex copy_mutex_;
  // Pinned buffers of dropped saved states, kept for the next save (up to 16 GiB: two 128k-token
  // states of the 7B shape).
  std::shared_ptr<PinnedPool> pinned_pool_ = std::make_shared<PinnedPool>(16ull << 30);
};

}  // namespace
}  // namespace hd::cuda

namespace hd {

std::unique_ptr<Backend> make_cuda_backend(const Checkpoint& checkpoint, const CudaBackendOptions& options) {
  DeviceInfo device = query_device(options.device);
  if (!device.available) throw CudaError("no usable CUDA device: " + device.reason, false);
  if (options.float32) return std::make_unique<cuda::CudaBackend<float>>(checkpoint, options);
  return std::make_unique<cuda::CudaBackend<__nv_bfloat16>>(checkpoint, options);
}

}  // namespace hd
