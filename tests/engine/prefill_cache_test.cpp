// The prefill cache on a tiny random StripedHyena (Hyena and attention blocks): a prompt that
// starts with a cached prefix prefills only the rest and its logits equal an uncached run bit for
// bit (the same pieces, on the CPU); the disk tier survives a restart; truncated and foreign files
// are refused and recomputed; each tier stays within its byte budget.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>

#include "hd/engine/backend.h"
#include "hd/engine/checkpoint.h"
#include "hd/engine/model_presets.h"
#include "hd/engine/prefill_cache.h"
#include "hd/engine/random_checkpoint.h"
#include "hd/engine/saved_state_file.h"
#include "support/numeric.h"
#include "support/temp_dir.h"

namespace hd {
namespace {

namespace fs = std::filesystem;

class PrefillCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    write_random_checkpoint(preset_config("tiny"), dir_ / "model", {.seed = 3});
    checkpoint_ = Checkpoint::open(dir_ / "model");
    backend_ = make_cpu_backend(*checkpoint_, {.threads = 1});
    const int vocab = checkpoint_->config().vocab_size;
    document_ = test::random_tokens(300, vocab, 1);
    question_a_ = test::random_tokens(20, vocab, 2);
    question_b_ = test::random_tokens(25, vocab, 3);
  }
  Session session() { return Session(*backend_, checkpoint_->fingerprint(), {.max_positions = 1024}); }
  std::vector<int> prompt(const std::vector<int>& question) const {
    std::vector<int> p = document_;
    p.insert(p.end(), question.begin(), question.end());
    return p;
  }
  // The uncached run, in the same two pieces the cached one uses.
  std::vector<float> uncached(const std::vector<int>& question) {
    Session s = session();
    s.prefill(document_);
    return s.prefill(question);
  }
  // Through the cache: restore what is there, prefill the document if needed, then the question.
  std::vector<float> cached(PrefillCache& cache, const std::vector<int>& question, CacheLookup& hit) {
    Session s = session();
    const std::vector<int> p = prompt(question);
    const std::size_t boundary[] = {document_.size()};
    hit = cache.restore_longest(s, p, boundary);
    if (hit.tokens == 0) {
      s.prefill(document_);
      cache.store(s, document_);
    }
    EXPECT_EQ(static_cast<std::size_t>(s.position()), document_.size());
    return s.prefill(question);
  }
  fs::path only_file(const fs::path& dir, const std::string& extension) {
    for (const auto& f : fs::directory_iterator(dir)) {
      if (f.path().extension() == extension) return f.path();
    }
    return {};
  }

  test::TempDir dir_;
  std::unique_ptr<Checkpoint> checkpoint_;
  std::unique_ptr<Backend> backend_;
  std::vector<int> document_, question_a_, question_b_;
};

TEST_F(PrefillCacheTest, AFollowUpPrefillsOnlyItsOwnTokensAndItsLogitsEqualAnUncachedRunBitForBit) {
  PrefillCache cache(checkpoint_->fingerprint(), {});
  CacheLookup first, second;
  const std::vector<float> a = cached(cache, question_a_, first);
  EXPECT_EQ(first.tokens, 0u);
  const std::vector<float> b = cached(cache, question_b_, second);
  EXPECT_EQ(second.tokens, document_.size()) << "the follow-up must reuse the document's state";
  EXPECT_EQ(second.tier, CacheTier::memory);
  const std::vector<float> want_a = uncached(question_a_), want_b = uncached(question_b_);
  ASSERT_EQ(b.size(), want_b.size());
  EXPECT_EQ(std::memcmp(a.data(), want_a.data(), a.size() * sizeof(float)), 0);
  EXPECT_EQ(std::memcmp(b.data(), want_b.data(), b.size() * sizeof(float)), 0) << "cached and uncached logits differ";
  EXPECT_EQ(cache.stats().hits_memory, 1u);
}

TEST_F(PrefillCacheTest, AChangedDocumentNeverMatches) {
  PrefillCache cache(checkpoint_->fingerprint(), {});
  CacheLookup hit;
  cached(cache, question_a_, hit);
  document_[150] = (document_[150] + 1) % checkpoint_->config().vocab_size;  // one token of the document changed
  cached(cache, question_a_, hit);
  EXPECT_EQ(hit.tokens, 0u);
}

TEST_F(PrefillCacheTest, TheDiskTierSurvivesARestart) {
  CacheLookup hit;
  {
    PrefillCache cache(checkpoint_->fingerprint(), {.disk_dir = dir_ / "cache"});
    cached(cache, question_a_, hit);
  }
  PrefillCache restarted(checkpoint_->fingerprint(), {.disk_dir = dir_ / "cache"});
  const std::vector<float> b = cached(restarted, question_b_, hit);
  EXPECT_EQ(hit.tokens, document_.size());
  EXPECT_EQ(hit.tier, CacheTier::disk);
  const std::vector<float> want = uncached(question_b_);
  EXPECT_EQ(std::memcmp(b.data(), want.data(), b.size() * sizeof(float)), 0);
  cached(restarted, question_a_, hit);
  EXPECT_EQ(hit.tier, CacheTier::memory) << "a disk hit is promoted to memory";
}

TEST_F(PrefillCacheTest, TruncatedOrForeignFilesAreRefusedRemovedAndRecomputed) {
  CacheLookup hit;
  {
    PrefillCache cache(checkpoint_->fingerprint(), {.disk_dir = dir_ / "cache"});
    cached(cache, question_a_, hit);
  }
  const fs::path state = only_file(dir_ / "cache", ".state");
  ASSERT_FALSE(state.empty());
  fs::resize_file(state, fs::file_size(state) / 2);
  {
    PrefillCache cache(checkpoint_->fingerprint(), {.disk_dir = dir_ / "cache"});
    const std::vector<float> b = cached(cache, question_b_, hit);
    EXPECT_EQ(hit.tokens, 0u) << "a truncated state was trusted";
    EXPECT_EQ(cache.stats().refused_files, 1u);
    const std::vector<float> want = uncached(question_b_);
    EXPECT_EQ(std::memcmp(b.data(), want.data(), b.size() * sizeof(float)), 0) << "recomputed";
  }
  // Another model's state under this key: refused by the state file's fingerprint.
  write_random_checkpoint(preset_config("tiny"), dir_ / "other", {.seed = 4});
  auto other = Checkpoint::open(dir_ / "other");
  auto other_backend = make_cpu_backend(*other, {.threads = 1});
  Session foreign(*other_backend, other->fingerprint(), {.max_positions = 1024});
  foreign.prefill(document_);
  const fs::path target = only_file(dir_ / "cache", ".state");
  ASSERT_FALSE(target.empty());
  write_saved_state(target, *foreign.save(), other->fingerprint(), other_backend->saved_layout());
  PrefillCache cache(checkpoint_->fingerprint(), {.disk_dir = dir_ / "cache"});
  cached(cache, question_b_, hit);
  EXPECT_EQ(hit.tokens, 0u) << "another model's state was trusted";
  EXPECT_EQ(cache.stats().refused_files, 1u);
}

TEST_F(PrefillCacheTest, EachTierStaysWithinItsBudget) {
  Session s = session();
  s.prefill(document_);
  const std::uint64_t one = s.save()->bytes();
  PrefillCache cache(checkpoint_->fingerprint(),
                     {.memory_budget_bytes = 2 * one + one / 2, .disk_dir = dir_ / "cache", .disk_budget_bytes = 3 * one});
  for (int i = 0; i < 6; ++i) {
    Session t = session();
    const std::vector<int> prefix = test::random_tokens(300, checkpoint_->config().vocab_size, 100 + i);
    t.prefill(prefix);
    cache.store(t, prefix);
    cache.flush();
    const PrefillCacheStats st = cache.stats();
    EXPECT_LE(st.memory_bytes, 2 * one + one / 2);
    EXPECT_LE(st.disk_bytes, 3 * one + one / 4);  // a state file is a little larger than the state
  }
  EXPECT_EQ(cache.stats().memory_entries, 2u);
  EXPECT_GT(cache.stats().evicted, 0u);
}

TEST_F(PrefillCacheTest, ADamagedByteAnywhereInAStateFileIsRefused) {
  CacheLookup hit;
  {
    PrefillCache cache(checkpoint_->fingerprint(), {.disk_dir = dir_ / "cache"});
    cached(cache, question_a_, hit);
  }
  const fs::path state = only_file(dir_ / "cache", ".state");
  ASSERT_FALSE(state.empty());
  for (const std::uint64_t at : {std::uint64_t{20}, fs::file_size(state) / 2}) {  // in the header, in the payload
    fs::copy_file(state, dir_ / "good.state", fs::copy_options::overwrite_existing);
    {
      std::fstream f(state, std::ios::in | std::ios::out | std::ios::binary);
      f.seekg(static_cast<std::streamoff>(at));
      char c = 0;
      f.read(&c, 1);
      c = static_cast<char>(c ^ 0x10);
      f.seekp(static_cast<std::streamoff>(at));
      f.write(&c, 1);
    }
    EXPECT_THROW(read_saved_state(state, *backend_, checkpoint_->fingerprint()), StateError) << "flipped byte " << at;
    fs::copy_file(dir_ / "good.state", state, fs::copy_options::overwrite_existing);
  }
  // The intact file reads back to the same state: its logits equal an uncached run.
  Session s = session();
  s.resume(*read_saved_state(state, *backend_, checkpoint_->fingerprint()));
  const std::vector<float> got = s.prefill(question_b_), want = uncached(question_b_);
  EXPECT_EQ(std::memcmp(got.data(), want.data(), got.size() * sizeof(float)), 0);
}

TEST_F(PrefillCacheTest, PurgeDropsATaggedDocumentsStatesFromEveryTierAndKeepsTheRest) {
  PrefillCache cache(checkpoint_->fingerprint(), {.disk_dir = dir_ / "cache"});
  Session s = session();
  s.prefill(document_);
  cache.store(s, document_, {"report.pdf"});
  Session t = session();
  const std::vector<int> other = test::random_tokens(200, checkpoint_->config().vocab_size, 9);
  t.prefill(other);
  cache.store(t, other, {"notes.md"});
  cache.flush();
  ASSERT_EQ(cache.stats().disk_entries, 2u);
  EXPECT_EQ(cache.purge("report.pdf"), 2u) << "its memory entry and its file";
  EXPECT_FALSE(cache.contains(document_));
  EXPECT_TRUE(cache.contains(other));
  EXPECT_EQ(cache.stats().disk_entries, 1u);
  EXPECT_EQ(cache.stats().memory_entries, 1u);
  PrefillCache restarted(checkpoint_->fingerprint(), {.disk_dir = dir_ / "cache"});
  EXPECT_FALSE(restarted.contains(document_));
  EXPECT_TRUE(restarted.contains(other)) << "the tags survive on disk";
}

TEST_F(PrefillCacheTest, StoringDoesNotWaitForTheDiskAndNothingPendingIsLostAtExit) {
  {
    PrefillCache cache(checkpoint_->fingerprint(), {.disk_dir = dir_ / "cache"});
    for (int i = 0; i < 4; ++i) {
      Session t = session();
      const std::vector<int> prefix = test::random_tokens(300, checkpoint_->config().vocab_size, 200 + i);
      t.prefill(prefix);
      cache.store(t, prefix);
    }
  }  // destroyed with writes possibly pending: it finishes them
  PrefillCache restarted(checkpoint_->fingerprint(), {.disk_dir = dir_ / "cache"});
  EXPECT_EQ(restarted.stats().disk_entries, 4u);
  EXPECT_EQ(restarted.stats().write_failures, 0u);
}

TEST_F(PrefillCacheTest, WhileAQuestionHoldsTheCacheNothingIsWrittenAndFlushStillFinishes) {
  PrefillCache cache(checkpoint_->fingerprint(), {.disk_dir = dir_ / "cache"});
  {
    const PrefillCache::Hold hold(&cache);
    Session s = session();
    s.prefill(document_);
    cache.store(s, document_);
    EXPECT_EQ(cache.stats().pending_writes, 1u) << "the write waits for the answer";
    EXPECT_TRUE(cache.contains(document_)) << "a pending entry is known";
    cache.flush();  // a caller that needs the file lets the worker run
    EXPECT_EQ(cache.stats().disk_entries, 1u);
  }
  Session t = session();
  const std::vector<int> other = test::random_tokens(100, checkpoint_->config().vocab_size, 77);
  t.prefill(other);
  cache.store(t, other);
  cache.flush();
  EXPECT_EQ(cache.stats().disk_entries, 2u);
}

}  // namespace
}  // namespace hd
