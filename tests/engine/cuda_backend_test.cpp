// The CUDA backend against the CPU reference on the tiny fixture models (label gpu: these
// suites start with "Cuda" and skip without a device).
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "hd/engine/backend.h"
#include "hd/engine/checkpoint.h"
#include "hd/engine/model_presets.h"
#include "hd/engine/random_checkpoint.h"
#include "hd/engine/prefill_cache.h"
#include "hd/engine/safetensors.h"
#include "hd/engine/saved_state_file.h"
#include "hd/engine/session.h"
#include "hd/kernels/cuda_check.h"
#include "support/numeric.h"
#include "support/temp_dir.h"

namespace hd {
namespace {

using test::argmax;
using test::random_tokens;
using test::rel_error;

const std::filesystem::path kFixtures = std::filesystem::path(HD_SOURCE_DIR) / "tests/engine/fixtures";

// A copy of the checkpoint in `dir` with every tensor but poles/residues rounded to bf16, so
// the CPU reference and the bf16 GPU backend start from identical weights.
void write_bf16_copy(const Checkpoint& ck, const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  std::filesystem::copy_file(ck.dir() / "config.json", dir / "config.json");
  std::filesystem::copy_file(ck.dir() / "model.safetensors.index.json", dir / "model.safetensors.index.json");
  for (const auto& file : ck.files()) {
    std::vector<TensorData> out;
    for (const auto& [name, v] : file->tensors()) {
      const bool keep = name.find("poles") != std::string::npos || name.find("residues") != std::string::npos;
      TensorData t{name, keep ? v.dtype : DType::bf16, v.shape, {}};
      if (keep) {
        t.bytes.assign(v.data, v.data + v.nbytes);
      } else {
        for (float f : v.to_floats()) {
          const std::uint16_t b = float_to_bf16(f);
          t.bytes.push_back(static_cast<unsigned char>(b & 0xff));
          t.bytes.push_back(static_cast<unsigned char>(b >> 8));
        }
      }
      out.push_back(std::move(t));
    }
    std::vector<const TensorData*> ptrs;
    for (const auto& t : out) ptrs.push_back(&t);
    write_safetensors(dir / file->path().filename(), ptrs);
  }
}

class CudaBackendTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    HD_REQUIRE_CUDA_DEVICE();
    checkpoint_ = Checkpoint::open(kFixtures / GetParam() / "model");
    cpu_ = make_cpu_backend(*checkpoint_);
    vocab_ = checkpoint_->config().vocab_size;
  }
  std::unique_ptr<Backend> cuda(bool float32, int max_chunk = 4096) {
    return make_cuda_backend(*checkpoint_, {.float32 = float32, .max_chunk = max_chunk});
  }
  std::unique_ptr<Checkpoint> checkpoint_;
  std::unique_ptr<Backend> cpu_;
  int vocab_ = 0;
};

TEST_P(CudaBackendTest, Float32GivesTheSameGreedyTokensAsCpuOver32Steps) {
  auto gpu = cuda(true);
  auto prompt = random_tokens(256, vocab_, 1);
  Session a(*cpu_, checkpoint_->fingerprint()), b(*gpu, checkpoint_->fingerprint());
  std::vector<float> la = a.prefill(prompt), lb = b.prefill(prompt);
  double worst = rel_error(lb, la);
  for (int step = 0; step < 32; ++step) {
    const int ta = argmax(la), tb = argmax(lb);
    ASSERT_EQ(ta, tb) << "step " << step;
    la = a.decode(ta);
    lb = b.decode(tb);
    worst = std::max(worst, rel_error(lb, la));
  }
  std::printf("cuda f32 vs cpu (%s): worst logits rel err %.2e over prefill + 32 steps\n", GetParam().c_str(), worst);
  EXPECT_LE(worst, 1e-4);
}

TEST_P(CudaBackendTest, Bf16LogitsWithinOnePercentOfCpu) {
  test::TempDir dir;
  write_bf16_copy(*checkpoint_, dir.path());
  auto ck = Checkpoint::open(dir.path());
  auto cpu = make_cpu_backend(*ck);
  auto gpu = make_cuda_backend(*ck, {.float32 = false});
  auto prompt = random_tokens(300, vocab_, 2);
  Session a(*cpu, ck->fingerprint()), b(*gpu, ck->fingerprint());
  const double err = rel_error(b.prefill(prompt, true), a.prefill(prompt, true));
  std::printf("cuda bf16 vs cpu (%s): all-position logits rel err %.2e\n", GetParam().c_str(), err);
  EXPECT_LE(err, 1e-2);
}

TEST_P(CudaBackendTest, ChunkedPrefillEqualsOnePassAndStatesMatchCpu) {
  auto small = cuda(true, 100), large = cuda(true, 4096);
  auto prompt = random_tokens(1000, vocab_, 3);
  Session a(*small, checkpoint_->fingerprint()), b(*large, checkpoint_->fingerprint()), c(*cpu_, checkpoint_->fingerprint());
  EXPECT_LE(rel_error(a.prefill(prompt), b.prefill(prompt)), 1e-5);
  c.prefill(prompt);
  const InferenceState ha = a.host_state(), hc = c.host_state();
  for (std::size_t i = 0; i < ha.kinds.size(); ++i) {
    if (ha.kinds[i] == BlockKind::attention) {
      EXPECT_LE(rel_error(ha.attention[i].k, hc.attention[i].k), 1e-5) << "block " << i;
      EXPECT_LE(rel_error(ha.attention[i].v, hc.attention[i].v), 1e-5) << "block " << i;
    } else {
      EXPECT_LE(rel_error(ha.hyena[i].fir, hc.hyena[i].fir), 1e-5) << "block " << i;
      std::vector<float> ia, ic;
      for (auto z : ha.hyena[i].iir) ia.insert(ia.end(), {z.real(), z.imag()});
      for (auto z : hc.hyena[i].iir) ic.insert(ic.end(), {z.real(), z.imag()});
      EXPECT_LE(rel_error(ia, ic), 1e-5) << "block " << i;
    }
  }
}

TEST_P(CudaBackendTest, FftAndScanLongConvolutionAgreeAndMatchCpu) {
  auto gpu = cuda(true, 300);  // chunks of 300: the FFT path also carries state across chunks
  auto prompt = random_tokens(1000, vocab_, 6);
  Session fft(*gpu, checkpoint_->fingerprint(), {.long_conv = LongConvMethod::fft});
  Session scan(*gpu, checkpoint_->fingerprint(), {.long_conv = LongConvMethod::recurrence});
  Session cpu(*cpu_, checkpoint_->fingerprint());
  std::vector<float> lf = fft.prefill(prompt, true), ls = scan.prefill(prompt, true), lc = cpu.prefill(prompt, true);
  std::printf("cuda f32 (%s): fft vs scan %.2e, fft vs cpu %.2e\n", GetParam().c_str(), rel_error(lf, ls),
              rel_error(lf, lc));
  EXPECT_LE(rel_error(lf, ls), 1e-5);
  EXPECT_LE(rel_error(lf, lc), 1e-5);
  EXPECT_LE(rel_error(fft.decode(prompt[3]), scan.decode(prompt[3])), 1e-5);
}

TEST_P(CudaBackendTest, SnapshotOnDiskRestoresExactly) {
  auto gpu = cuda(false);
  test::TempDir dir;
  auto prompt = random_tokens(200, vocab_, 4);
  Session s(*gpu, checkpoint_->fingerprint());
  s.prefill(prompt);
  s.snapshot(dir / "gpu.hds");
  std::vector<std::vector<float>> direct;
  for (int t : {3, 5, 8}) direct.push_back(s.decode(t));
  Session r(*gpu, checkpoint_->fingerprint());
  r.restore(dir / "gpu.hds");
  int k = 0;
  for (int t : {3, 5, 8}) EXPECT_EQ(r.decode(t), direct[k++]);
}

TEST_P(CudaBackendTest, SaveToHostMemoryThenResumeIsExact) {
  auto gpu = cuda(false);
  auto prompt = random_tokens(500, vocab_, 7);
  Session s(*gpu, checkpoint_->fingerprint());
  s.prefill(prompt);
  auto saved = s.save();
  EXPECT_EQ(saved->position(), 500);
  std::vector<float> a = s.prefill(std::vector<int>{5, 6, 7});  // a follow-up question
  Session r(*gpu, checkpoint_->fingerprint());
  r.resume(*saved);
  EXPECT_EQ(r.prefill(std::vector<int>{5, 6, 7}), a);
  auto other = cuda(false);
  Session foreign(*other, checkpoint_->fingerprint());
  EXPECT_THROW(foreign.resume(*saved), std::invalid_argument);
}

TEST_P(CudaBackendTest, SaveToGpuMemoryAndToDiskAsItIsResumeExactly) {
  auto gpu = cuda(false);
  test::TempDir dir;
  auto prompt = random_tokens(500, vocab_, 7);
  Session s(*gpu, checkpoint_->fingerprint());
  s.prefill(prompt);
  auto on_device = s.save_on_device();
  ASSERT_TRUE(on_device);
  EXPECT_TRUE(on_device->on_device());
  auto on_host = s.save();
  EXPECT_EQ(on_device->bytes(), on_host->bytes());
  write_saved_state(dir / "gpu.state", *on_host, checkpoint_->fingerprint(), gpu->saved_layout());
  const std::vector<float> want = s.prefill(std::vector<int>{5, 6, 7});
  Session from_device(*gpu, checkpoint_->fingerprint());
  from_device.resume(*on_device);
  EXPECT_EQ(from_device.prefill(std::vector<int>{5, 6, 7}), want);
  Session from_disk(*gpu, checkpoint_->fingerprint());
  from_disk.resume(*read_saved_state(dir / "gpu.state", *gpu, checkpoint_->fingerprint()));
  EXPECT_EQ(from_disk.prefill(std::vector<int>{5, 6, 7}), want);
  // The CPU backend keeps another layout (float32): it refuses the GPU's file.
  EXPECT_THROW(read_saved_state(dir / "gpu.state", *cpu_, checkpoint_->fingerprint()), StateError);
}

TEST_P(CudaBackendTest, PrefillCacheServesAFollowUpFromTheGpuTierWithinItsBudget) {
  auto gpu = cuda(false);
  auto document = random_tokens(400, vocab_, 11);
  Session probe(*gpu, checkpoint_->fingerprint());
  probe.prefill(document);
  const std::uint64_t one = probe.save()->bytes();
  PrefillCache cache(checkpoint_->fingerprint(), {.gpu_budget_bytes = one + one / 2, .memory_budget_bytes = 4 * one});
  auto ask = [&](const std::vector<int>& doc, const std::vector<int>& question, CacheLookup& hit) {
    std::vector<int> p = doc;
    p.insert(p.end(), question.begin(), question.end());
    Session s(*gpu, checkpoint_->fingerprint());
    const std::size_t boundary[] = {doc.size()};
    hit = cache.restore_longest(s, p, boundary);
    if (hit.tokens == 0) {
      s.prefill(doc);
      cache.store(s, doc);
    }
    return s.prefill(question);
  };
  CacheLookup hit;
  const std::vector<float> first = ask(document, {1, 2, 3}, hit);
  EXPECT_EQ(hit.tier, CacheTier::none);
  const std::vector<float> again = ask(document, {1, 2, 3}, hit);
  EXPECT_EQ(hit.tier, CacheTier::gpu);
  EXPECT_EQ(hit.tokens, document.size());
  EXPECT_EQ(again, first);
  ask(random_tokens(400, vocab_, 12), {1, 2, 3}, hit);  // a second document pushes the first out of the GPU tier
  cache.flush();  // the host copies are made in the background
  EXPECT_LE(cache.stats().gpu_bytes, one + one / 2);
  EXPECT_EQ(cache.stats().gpu_entries, 1u);
  EXPECT_EQ(ask(document, {1, 2, 3}, hit), first);
  EXPECT_EQ(hit.tier, CacheTier::memory) << "evicted from the GPU, still in host memory";
}

TEST_P(CudaBackendTest, DecodeGraphReplaysMatchEagerSteps) {
  auto eager = make_cuda_backend(*checkpoint_, {.float32 = true, .decode_graphs = false});
  auto graphed = make_cuda_backend(*checkpoint_, {.float32 = true, .decode_graphs = true});
  auto prompt = random_tokens(300, vocab_, 8);
  Session a(*eager, checkpoint_->fingerprint()), b(*graphed, checkpoint_->fingerprint());
  std::vector<float> la = a.prefill(prompt), lb = b.prefill(prompt);
  for (int step = 0; step < 12; ++step) {  // eager first step, capture on the second, replays after
    const int t = argmax(la);
    la = a.decode(t);
    lb = b.decode(t);
    EXPECT_LE(rel_error(lb, la), 1e-6) << "step " << step;
  }
  EXPECT_EQ(b.position(), 312);
  // After a resume the captured graph replays over the restored contents (same buffers).
  auto saved = b.save();
  std::vector<float> first = b.decode(7), second = b.decode(9);
  b.resume(*saved);
  EXPECT_EQ(b.decode(7), first);
  EXPECT_EQ(b.decode(9), second);
}

TEST_P(CudaBackendTest, OutOfMemoryIsAnErrorNotACrash) {
  auto gpu = cuda(false);
  try {
    Session huge(*gpu, checkpoint_->fingerprint(), {.max_positions = 1ll << 40});
    FAIL() << "reserving a KV cache for 2^40 tokens must fail";
  } catch (const CudaError& e) {
    EXPECT_TRUE(e.out_of_memory()) << e.what();
    EXPECT_NE(std::string(e.what()).find("out of memory"), std::string::npos) << e.what();
  }
  // The backend still works afterwards.
  Session ok(*gpu, checkpoint_->fingerprint());
  EXPECT_NO_THROW(ok.prefill(random_tokens(10, vocab_, 5)));
}

INSTANTIATE_TEST_SUITE_P(Models, CudaBackendTest, ::testing::Values("tiny", "tiny-mix"),
                         [](const auto& p) { return p.param == "tiny" ? "tiny" : "tiny_mix"; });

// The path the 7B decodes through, at a small width with the 7B's head layout (head dim 128, 4
// query heads a kv head, rows of 2048 and 4096 values): bf16 one-row GEMVs that start before the
// kernel they follow ends (programmatic dependent launch), the one-launch decode attention, the
// one-launch FIR and scan steps, all in a replayed CUDA graph, against the CPU on the same bf16
// weights step by step. A GEMV that read its input before its predecessor wrote it, or a merge
// counter left non-zero, would send the logits far off.
TEST(CudaBf16Decode, SevenBHeadLayoutFollowsCpuOverGraphReplays) {
  HD_REQUIRE_CUDA_DEVICE();
  ModelConfig c = preset_config("7b");
  c.vocab_size = 512;
  c.hidden_size = 2048;
  c.num_layers = 4;
  c.blocks = {BlockKind::hyena, BlockKind::attention, BlockKind::hyena, BlockKind::attention};
  c.num_attention_heads = 16;
  c.num_kv_heads = 4;
  c.inner_mlp_size = 4096;
  test::TempDir dir;
  write_random_checkpoint(c, dir.path(), {.seed = 9, .dtype = DType::bf16});
  auto ck = Checkpoint::open(dir.path());
  auto cpu = make_cpu_backend(*ck);
  auto gpu = make_cuda_backend(*ck, {.float32 = false, .decode_graphs = true});
  auto prompt = random_tokens(200, c.vocab_size, 12);
  Session a(*cpu, ck->fingerprint()), b(*gpu, ck->fingerprint());
  std::vector<float> la = a.prefill(prompt), lb = b.prefill(prompt);
  double worst = rel_error(lb, la);
  for (int step = 0; step < 16; ++step) {  // eager first step, capture on the second, replays after
    const int t = argmax(la);
    la = a.decode(t);
    lb = b.decode(t);
    const double err = rel_error(lb, la);
    EXPECT_LE(err, 2e-2) << "step " << step;
    worst = std::max(worst, err);
  }
  std::printf("cuda bf16 decode vs cpu (7B head layout, 2048 wide): worst logits rel err %.2e over prefill + 16 steps\n",
              worst);
}

}  // namespace
}  // namespace hd
