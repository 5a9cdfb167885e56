// The CPU backend's own consistency: FFT and recurrence agree, decode equals a full forward,
// chunked prefill equals one pass, snapshots restore exactly, bad input is refused.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <random>

#include "hd/engine/backend.h"
#include "hd/engine/checkpoint.h"
#include "hd/engine/model_presets.h"
#include "hd/engine/random_checkpoint.h"
#include "hd/engine/session.h"
#include "support/numeric.h"
#include "support/temp_dir.h"

namespace hd {
namespace {

using test::argmax;
using test::random_tokens;
using test::rel_error;

const std::filesystem::path kFixtures = std::filesystem::path(HD_SOURCE_DIR) / "tests/engine/fixtures";

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

class SessionTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    checkpoint_ = Checkpoint::open(kFixtures / GetParam() / "model");
    backend_ = make_cpu_backend(*checkpoint_);
    vocab_ = backend_->config().vocab_size;
  }
  Session session(LongConvMethod m = LongConvMethod::fft, std::int64_t max = 0) {
    return Session(*backend_, checkpoint_->fingerprint(), {.long_conv = m, .max_positions = max});
  }
  std::unique_ptr<Checkpoint> checkpoint_;
  std::unique_ptr<Backend> backend_;
  int vocab_ = 0;
};

TEST_P(SessionTest, FftAndRecurrencePrefillAgree) {
  auto prompt = random_tokens(300, vocab_, 1);
  Session a = session(LongConvMethod::fft), b = session(LongConvMethod::recurrence);
  EXPECT_LE(rel_error(a.prefill(prompt, true), b.prefill(prompt, true)), 1e-5);
}

TEST_P(SessionTest, DecodeEqualsFullForwardOverTheWholeSequence) {
  auto seq = random_tokens(60, vocab_, 2);
  Session full = session();
  std::vector<float> all = full.prefill(seq, true);
  Session inc = session();
  std::vector<float> logits = inc.prefill(std::span<const int>(seq).first(50));
  for (int t = 50; t < 60; ++t) {
    std::span<const float> want(all.data() + static_cast<std::size_t>(t - 1) * vocab_, vocab_);
    EXPECT_LE(rel_error(logits, want), 1e-5) << "position " << t - 1;
    logits = inc.decode(seq[t]);
  }
  EXPECT_LE(rel_error(logits, std::span<const float>(all.data() + 59ull * vocab_, vocab_)), 1e-5);
}

TEST_P(SessionTest, ChunkedPrefillEqualsOnePass) {
  auto prompt = random_tokens(2048, vocab_, 3);
  Session one = session();
  std::vector<float> want = one.prefill(prompt);
  for (int chunk : {100, 333, 1000}) {
    Session s = session();
    std::vector<float> got;
    for (int start = 0; start < 2048; start += chunk) {
      got = s.prefill(std::span<const int>(prompt).subspan(start, std::min(chunk, 2048 - start)));
    }
    EXPECT_LE(rel_error(got, want), 1e-5) << "chunks of " << chunk;
    EXPECT_EQ(s.position(), 2048);
    // The states carried between chunks, compared through the next step.
    EXPECT_LE(rel_error(s.decode(prompt[7]), Session(one).decode(prompt[7])), 1e-5) << "chunks of " << chunk;
  }
}

TEST_P(SessionTest, SnapshotRestoreThenDecodeIsBitExact) {
  test::TempDir dir;
  auto prompt = random_tokens(120, vocab_, 4);
  Session s = session();
  s.prefill(prompt);
  s.snapshot(dir / "state.hds");
  std::vector<std::vector<float>> uninterrupted;
  for (int t : {5, 9, 11, 3}) uninterrupted.push_back(s.decode(t));
  Session r = session();
  r.restore(dir / "state.hds");
  EXPECT_EQ(r.position(), 120);
  int k = 0;
  for (int t : {5, 9, 11, 3}) EXPECT_EQ(r.decode(t), uninterrupted[k++]) << "step " << k;
}

TEST_P(SessionTest, SaveInMemoryThenResumeDecodesExactlyAndRefusesForeignStates) {
  auto prompt = random_tokens(150, vocab_, 14);
  Session s = session();
  s.prefill(prompt);
  auto saved = s.save();
  EXPECT_EQ(saved->position(), 150);
  std::vector<float> first = s.decode(4), second = s.decode(6);
  Session r = session();
  r.resume(*saved);
  EXPECT_EQ(r.decode(4), first);
  EXPECT_EQ(r.decode(6), second);
  auto other = make_cpu_backend(*checkpoint_);
  Session foreign(*other, checkpoint_->fingerprint());
  EXPECT_NE(error_of([&] { foreign.resume(*saved); }).find("another model or backend"), std::string::npos);
  Session small = session(LongConvMethod::fft, 100);
  EXPECT_NE(error_of([&] { small.resume(*saved); }).find("holds 150 tokens"), std::string::npos);
}

TEST_P(SessionTest, DamagedOrForeignSnapshotsAreRefusedWithReason) {
  test::TempDir dir;
  Session s = session();
  s.prefill(random_tokens(30, vocab_, 5));
  s.snapshot(dir / "good.hds");
  std::string bytes = test::read_file(dir / "good.hds");

  std::string flipped = bytes;
  flipped[bytes.size() / 2] ^= 0x5a;
  test::write_file(dir / "flipped.hds", flipped);
  Session r = session();
  EXPECT_NE(error_of([&] { r.restore(dir / "flipped.hds"); }).find("checksum mismatch"), std::string::npos);
  test::write_file(dir / "cut.hds", bytes.substr(0, bytes.size() - 100));
  EXPECT_NE(error_of([&] { r.restore(dir / "cut.hds"); }).find("cut.hds"), std::string::npos);
  test::write_file(dir / "junk.hds", "not a state file at all, just text");
  EXPECT_NE(error_of([&] { r.restore(dir / "junk.hds"); }).find("not a HyenaDesk state file"), std::string::npos);
  std::string other_version = bytes;
  other_version[8] = 99;
  test::write_file(dir / "v99.hds", other_version);
  EXPECT_NE(error_of([&] { r.restore(dir / "v99.hds"); }).find("version 99 is not supported"), std::string::npos);
  // The same shape with other weights: another model.
  Session foreign(*backend_, checkpoint_->fingerprint() ^ 1);
  EXPECT_NE(error_of([&] { foreign.restore(dir / "good.hds"); }).find("different model"), std::string::npos);
  // A failed restore leaves the session usable as it was.
  EXPECT_EQ(r.position(), 0);
  EXPECT_NO_THROW(r.prefill(random_tokens(3, vocab_, 6)));
}

TEST_P(SessionTest, BadInputIsRefusedWithTheNumbers) {
  Session s = session(LongConvMethod::fft, 64);
  EXPECT_NE(error_of([&] { s.prefill(std::vector<int>{}); }).find("empty prompt"), std::string::npos);
  std::string e = error_of([&] { s.prefill(std::vector<int>{1, vocab_, 2}); });
  EXPECT_NE(e.find("token id " + std::to_string(vocab_) + " at position 1"), std::string::npos) << e;
  EXPECT_NE(error_of([&] { s.prefill(std::vector<int>{-3}); }).find("token id -3"), std::string::npos);
  s.prefill(random_tokens(60, vocab_, 7));
  e = error_of([&] { s.prefill(random_tokens(10, vocab_, 8)); });
  EXPECT_NE(e.find("prompt of 10 tokens does not fit: 60 already in context, maximum 64"), std::string::npos) << e;
  EXPECT_EQ(s.position(), 60) << "a refused prompt must not change the state";
  EXPECT_NO_THROW(s.decode(1));
}

INSTANTIATE_TEST_SUITE_P(Models, SessionTest, ::testing::Values("tiny", "tiny-mix"),
                         [](const auto& p) { return p.param == "tiny" ? "tiny" : "tiny_mix"; });

// Layer patterns and options no fixture covers: each must run and keep FFT = recurrence.
TEST(SessionPatterns, AttentionOnlyHyenaOnlyTiedAndBf16ModelsRun) {
  struct Variant {
    const char* name;
    std::function<void(ModelConfig&)> edit;
    DType dtype;
  };
  std::vector<Variant> variants = {
      {"attention-only", [](ModelConfig& c) { c.blocks.assign(c.num_layers, BlockKind::attention); }, DType::f32},
      {"hyena-only", [](ModelConfig& c) { c.blocks.assign(c.num_layers, BlockKind::hyena); }, DType::f32},
      {"tied, no column split, gelu", [](ModelConfig& c) {
         c.tie_embeddings = true;
         c.column_split_hyena = false;
         c.mlp_activation = MlpActivation::gelu;
       }, DType::f32},
      {"bf16 weights", [](ModelConfig&) {}, DType::bf16},
  };
  for (const auto& v : variants) {
    test::TempDir dir;
    ModelConfig c = preset_config("tiny");
    v.edit(c);
    write_random_checkpoint(c, dir.path(), {.seed = 11, .dtype = v.dtype});
    auto ck = Checkpoint::open(dir.path());
    auto backend = make_cpu_backend(*ck);
    auto prompt = random_tokens(40, c.vocab_size, 9);
    Session a(*backend, ck->fingerprint(), {.long_conv = LongConvMethod::fft});
    Session b(*backend, ck->fingerprint(), {.long_conv = LongConvMethod::recurrence});
    std::vector<float> la = a.prefill(prompt, true), lb = b.prefill(prompt, true);
    EXPECT_LE(rel_error(la, lb), 1e-5) << v.name;
  }
}

}  // namespace
}  // namespace hd
