// The CPU backend against golden outputs of the public StripedHyena reference, made by
// scripts/fixtures/make_reference_golden.py on a GPU machine (see tests/engine/fixtures/README.md).
// Two tiny random-weight models, prompts of 1, 17, 256 and 2048 tokens: full-forward logits
// (by FFT and by the modal recurrence), the Hyena states after prefill, 32 greedy decode steps.
//
// Two yardsticks: the reference in float32 (golden/) and the same reference run in float64
// (golden64/). Against float64 our float32 engine must be within float32 rounding (5e-6).
// Against float32 it must be within 1e-4, or, where the float32 reference is itself further
// than 5e-5 from float64, within twice that distance (its own rounding; FlashAttention's tests
// accept a kernel on the same terms).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "hd/engine/backend.h"
#include "hd/engine/checkpoint.h"
#include "hd/engine/safetensors.h"
#include "hd/engine/session.h"
#include "support/numeric.h"

namespace hd {
namespace {

using test::argmax;
using test::random_tokens;
using test::rel_error;

const std::filesystem::path kFixtures = std::filesystem::path(HD_SOURCE_DIR) / "tests/engine/fixtures";
constexpr double kVsFloat64 = 5e-6;
constexpr double kVsFloat32 = 1e-4;

// Bar against the float32 reference, given how far that reference is from float64.
double float32_bar(double ref32_vs_ref64) { return std::max(kVsFloat32, 2 * ref32_vs_ref64); }

struct Golden {
  std::unique_ptr<SafetensorsFile> file;
  std::vector<float> get(const std::string& name) const { return file->tensors().at(name).to_floats(); }
  bool has(const std::string& name) const { return file->tensors().count(name) != 0; }
};

struct Case {
  std::string model;
  int length;
};
void PrintTo(const Case& c, std::ostream* os) { *os << c.model << " L=" << c.length; }

class ReferenceGolden : public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override {
    const Case& c = GetParam();
    const std::string file = "L" + std::to_string(c.length) + ".safetensors";
    for (auto [golden, dir] : {std::pair{&ref32_, "golden"}, std::pair{&ref64_, "golden64"}}) {
      const auto path = kFixtures / c.model / dir / file;
      ASSERT_TRUE(std::filesystem::exists(path)) << "missing fixture " << path;
      golden->file = SafetensorsFile::open(path);
    }
    checkpoint_ = Checkpoint::open(kFixtures / c.model / "model");
    backend_ = make_cpu_backend(*checkpoint_);
    for (float f : ref32_.get("prompt")) prompt_.push_back(static_cast<int>(f));
    ASSERT_EQ(static_cast<int>(prompt_.size()), c.length);
    ASSERT_EQ(ref64_.get("prompt"), ref32_.get("prompt"));
    vocab_ = backend_->config().vocab_size;
  }
  // Rows of `all` ([L, vocab]) at the float64 fixture's positions (all, or a sample).
  std::vector<float> at_ref64_positions(const std::vector<float>& all) const {
    if (!ref64_.has("logit_positions")) return all;
    std::vector<float> out;
    for (float p : ref64_.get("logit_positions")) {
      auto row = all.begin() + static_cast<long>(p) * vocab_;
      out.insert(out.end(), row, row + vocab_);
    }
    return out;
  }
  void report(const char* what, double ours32, double ours64, double ref_gap) const {
    std::printf("golden %-8s L=%-4d %-22s ours-ref32 %.2e  ours-ref64 %.2e  ref32-ref64 %.2e\n",
                GetParam().model.c_str(), GetParam().length, what, ours32, ours64, ref_gap);
  }

  Golden ref32_, ref64_;
  std::unique_ptr<Checkpoint> checkpoint_;
  std::unique_ptr<Backend> backend_;
  std::vector<int> prompt_;
  int vocab_ = 0;
};

TEST_P(ReferenceGolden, FullForwardLogitsByFftAndByRecurrence) {
  const std::vector<float> want32 = ref32_.get("logits"), want64 = ref64_.get("logits");
  const double gap = rel_error(at_ref64_positions(want32), want64);
  for (LongConvMethod method : {LongConvMethod::fft, LongConvMethod::recurrence}) {
    Session session(*backend_, checkpoint_->fingerprint(), {.long_conv = method});
    std::vector<float> got = session.prefill(prompt_, /*all_logits=*/true);
    ASSERT_EQ(got.size(), want32.size());
    const double e32 = rel_error(got, want32), e64 = rel_error(at_ref64_positions(got), want64);
    report(method == LongConvMethod::fft ? "logits (fft)" : "logits (recurrence)", e32, e64, gap);
    EXPECT_LE(e64, kVsFloat64);
    EXPECT_LE(e32, float32_bar(gap));
  }
}

TEST_P(ReferenceGolden, HyenaStatesAfterPrefill) {
  const ModelConfig& c = backend_->config();
  for (LongConvMethod method : {LongConvMethod::fft, LongConvMethod::recurrence}) {
    Session session(*backend_, checkpoint_->fingerprint(), {.long_conv = method});
    session.prefill(prompt_);
    const InferenceState host = session.host_state();
    double worst32 = 0, worst64 = 0, worst_gap = 0;
    for (int i = 0; i < c.num_layers; ++i) {
      if (c.blocks[i] != BlockKind::hyena) continue;
      const HyenaState& st = host.hyena[i];
      std::vector<float> iir(st.iir.size() * 2);
      for (std::size_t k = 0; k < st.iir.size(); ++k) {
        iir[2 * k] = st.iir[k].real();
        iir[2 * k + 1] = st.iir[k].imag();
      }
      // FIR state: reference layout [3D, 2] (oldest first) vs ours [2, 3D].
      std::vector<float> fir(st.fir.size());
      for (int ch = 0; ch < st.channels; ++ch) {
        for (int t = 0; t < st.fir_taps; ++t) fir[ch * st.fir_taps + t] = st.fir[t * st.channels + ch];
      }
      const std::string b = "blocks." + std::to_string(i);
      for (auto [ours, name] : {std::pair{&iir, b + ".iir"}, std::pair{&fir, b + ".fir"}}) {
        const auto r32 = ref32_.get(name), r64 = ref64_.get(name);
        const double gap = rel_error(r32, r64), e32 = rel_error(*ours, r32), e64 = rel_error(*ours, r64);
        EXPECT_LE(e64, kVsFloat64) << name;
        EXPECT_LE(e32, float32_bar(gap)) << name;
        worst32 = std::max(worst32, e32);
        worst64 = std::max(worst64, e64);
        worst_gap = std::max(worst_gap, gap);
      }
    }
    report(method == LongConvMethod::fft ? "states (fft prefill)" : "states (recurrence)", worst32, worst64, worst_gap);
  }
}

TEST_P(ReferenceGolden, GreedyDecodeAfterPrefill) {
  // Follow each reference's own tokens, so every step compares like with like.
  auto run = [&](const Golden& g, int& same) {
    const std::vector<float> tokens = g.get("decode_tokens");
    Session session(*backend_, checkpoint_->fingerprint());
    std::vector<float> logits = session.prefill(prompt_), all;
    same = 0;
    for (float t : tokens) {
      all.insert(all.end(), logits.begin(), logits.end());
      same += argmax(logits) == static_cast<int>(t);
      logits = session.decode(static_cast<int>(t));
    }
    return all;
  };
  int same32 = 0, same64 = 0;
  const std::vector<float> ours32 = run(ref32_, same32), ours64 = run(ref64_, same64);
  const std::vector<float> want32 = ref32_.get("decode_logits"), want64 = ref64_.get("decode_logits");
  const bool same_tokens = ref32_.get("decode_tokens") == ref64_.get("decode_tokens");
  const double gap = same_tokens ? rel_error(want32, want64) : NAN;
  const double e32 = rel_error(ours32, want32), e64 = rel_error(ours64, want64);
  report("decode (32 steps)", e32, e64, gap);
  std::printf("golden %-8s L=%-4d greedy tokens equal: %d/32 (ref32), %d/32 (ref64)\n", GetParam().model.c_str(),
              GetParam().length, same32, same64);
  EXPECT_LE(e64, kVsFloat64);
  EXPECT_LE(e32, same_tokens ? float32_bar(gap) : kVsFloat32);
  EXPECT_EQ(same32, 32);
  EXPECT_EQ(same64, 32);
}

std::vector<Case> cases() {
  std::vector<Case> out;
  for (const char* model : {"tiny", "tiny-mix"}) {
    for (int length : {1, 17, 256, 2048}) out.push_back({model, length});
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(Fixtures, ReferenceGolden, ::testing::ValuesIn(cases()), [](const auto& p) {
  std::string name = p.param.model + "_L" + std::to_string(p.param.length);
  std::replace(name.begin(), name.end(), '-', '_');
  return name;
});

}  // namespace
}  // namespace hd
