// The CPU backend against golden outputs of the public StripedHyena reference
// (tests/engine/fixtures/*/golden, made by scripts/fixtures/make_reference_golden.py on a GPU
// machine; see the README there). Two tiny random-weight models, prompts of 1, 17, 256 and
// 2048 tokens: full-forward logits (by FFT and by the modal recurrence), the Hyena states
// after prefill, and 32 greedy decode steps. Bar: relative error <= 1e-4 and the same tokens.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "hd/engine/backend.h"
#include "hd/engine/checkpoint.h"
#include "hd/engine/safetensors.h"
#include "hd/engine/session.h"

namespace hd {
namespace {

const std::filesystem::path kFixtures = std::filesystem::path(HD_SOURCE_DIR) / "tests/engine/fixtures";
constexpr double kTolerance = 1e-4;

double rel_error(std::span<const float> got, std::span<const float> want) {
  double num = 0, den = 0;
  for (std::size_t i = 0; i < want.size(); ++i) {
    if (!std::isfinite(got[i])) return INFINITY;
    num += (static_cast<double>(got[i]) - want[i]) * (static_cast<double>(got[i]) - want[i]);
    den += static_cast<double>(want[i]) * want[i];
  }
  return std::sqrt(num / den);
}

int argmax(std::span<const float> v) { return static_cast<int>(std::max_element(v.begin(), v.end()) - v.begin()); }

struct Case {
  std::string model;
  int length;
};

class ReferenceGolden : public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override {
    const Case& c = GetParam();
    const auto golden = kFixtures / c.model / "golden" / ("L" + std::to_string(c.length) + ".safetensors");
    ASSERT_TRUE(std::filesystem::exists(golden)) << "missing fixture " << golden;
    checkpoint_ = Checkpoint::open(kFixtures / c.model / "model");
    backend_ = make_cpu_backend(*checkpoint_);
    golden_ = SafetensorsFile::open(golden);
    for (float f : tensor("prompt")) prompt_.push_back(static_cast<int>(f));
    ASSERT_EQ(static_cast<int>(prompt_.size()), c.length);
  }
  std::vector<float> tensor(const std::string& name) const { return golden_->tensors().at(name).to_floats(); }

  std::unique_ptr<Checkpoint> checkpoint_;
  std::unique_ptr<Backend> backend_;
  std::unique_ptr<SafetensorsFile> golden_;
  std::vector<int> prompt_;
};

TEST_P(ReferenceGolden, FullForwardLogitsByFftAndByRecurrence) {
  const std::vector<float> want = tensor("logits");
  for (LongConvMethod method : {LongConvMethod::fft, LongConvMethod::recurrence}) {
    Session session(*backend_, checkpoint_->fingerprint(), {.long_conv = method});
    std::vector<float> got = session.prefill(prompt_, /*all_logits=*/true);
    ASSERT_EQ(got.size(), want.size());
    const double err = rel_error(got, want);
    std::printf("golden %s L=%d logits (%s): rel err %.2e\n", GetParam().model.c_str(), GetParam().length,
                method == LongConvMethod::fft ? "fft" : "recurrence", err);
    EXPECT_LE(err, kTolerance);
  }
}

TEST_P(ReferenceGolden, HyenaStatesAfterPrefill) {
  for (LongConvMethod method : {LongConvMethod::fft, LongConvMethod::recurrence}) {
    Session session(*backend_, checkpoint_->fingerprint(), {.long_conv = method});
    session.prefill(prompt_);
    const ModelConfig& c = backend_->config();
    double worst = 0;
    for (int i = 0; i < c.num_layers; ++i) {
      if (c.blocks[i] != BlockKind::hyena) continue;
      const HyenaState& st = session.state().hyena[i];
      std::vector<float> iir(st.iir.size() * 2);
      for (std::size_t k = 0; k < st.iir.size(); ++k) {
        iir[2 * k] = st.iir[k].real();
        iir[2 * k + 1] = st.iir[k].imag();
      }
      const double e_iir = rel_error(iir, tensor("blocks." + std::to_string(i) + ".iir"));
      // Reference layout [3D, 2] (oldest first) vs ours [2, 3D].
      std::vector<float> want_fir = tensor("blocks." + std::to_string(i) + ".fir"), fir(want_fir.size());
      for (int ch = 0; ch < st.channels; ++ch) {
        for (int t = 0; t < st.fir_taps; ++t) fir[ch * st.fir_taps + t] = st.fir[t * st.channels + ch];
      }
      const double e_fir = rel_error(fir, want_fir);
      EXPECT_LE(e_iir, kTolerance) << "block " << i;
      EXPECT_LE(e_fir, kTolerance) << "block " << i;
      worst = std::max({worst, e_iir, e_fir});
    }
    std::printf("golden %s L=%d states (%s prefill): worst rel err %.2e\n", GetParam().model.c_str(),
                GetParam().length, method == LongConvMethod::fft ? "fft" : "recurrence", worst);
  }
}

TEST_P(ReferenceGolden, GreedyDecodeAfterPrefill) {
  const std::vector<float> want_logits = tensor("decode_logits"), tokens_f = tensor("decode_tokens");
  const int vocab = backend_->config().vocab_size, steps = static_cast<int>(tokens_f.size());
  Session session(*backend_, checkpoint_->fingerprint());
  std::vector<float> logits = session.prefill(prompt_);
  double worst = 0;
  int same = 0;
  for (int s = 0; s < steps; ++s) {
    std::span<const float> want(want_logits.data() + static_cast<std::size_t>(s) * vocab, vocab);
    worst = std::max(worst, rel_error(logits, want));
    const int expected = static_cast<int>(tokens_f[s]);
    same += argmax(logits) == expected;
    logits = session.decode(expected);  // follow the reference's tokens so each step compares like with like
  }
  std::printf("golden %s L=%d decode: worst step rel err %.2e, greedy tokens %d/%d equal\n",
              GetParam().model.c_str(), GetParam().length, worst, same, steps);
  EXPECT_LE(worst, kTolerance);
  EXPECT_EQ(same, steps);
}

std::vector<Case> cases() {
  std::vector<Case> out;
  for (const char* model : {"tiny", "tiny-mix"}) {
    for (int length : {1, 17, 256, 2048}) out.push_back({model, length});
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(Fixtures, ReferenceGolden, ::testing::ValuesIn(cases()), [](const auto& info) {
  std::string name = info.param.model + "_L" + std::to_string(info.param.length);
  std::replace(name.begin(), name.end(), '-', '_');
  return name;
});

}  // namespace
}  // namespace hd
