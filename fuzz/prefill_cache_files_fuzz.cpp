// The prefill cache's disk tier: a saved state file and the token file beside it, as a damaged
// disk, a half-written copy or another user's file would leave them. The harness stores one real
// state of a tiny random model, then for each input rewrites one of the two files (the first byte
// picks which, and whether the rest replaces it or is XORed onto the real bytes, so mutations stay
// near a valid file and get past the magic), and asks the cache for that prefix again: a damaged
// file must be refused, removed and recomputed (a miss), never loaded or crashed on. The same
// files then go through purge_prefill_files, which reads every token file in the folder.
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "fuzz_support.h"
#include "hd/engine/backend.h"
#include "hd/engine/checkpoint.h"
#include "hd/engine/model_presets.h"
#include "hd/engine/prefill_cache.h"
#include "hd/engine/random_checkpoint.h"
#include "hd/engine/session.h"

namespace fs = std::filesystem;

namespace {

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void write_all(const fs::path& p, const std::string& bytes) {
  std::ofstream(p, std::ios::binary | std::ios::trunc).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

struct World {
  fs::path dir, cache_dir;
  std::unique_ptr<hd::Checkpoint> checkpoint;
  std::unique_ptr<hd::Backend> backend;
  std::vector<int> prefix;
  fs::path state_file, tokens_file;
  std::string state_bytes, tokens_bytes;

  World() {
    dir = hd::fuzz::write_input(nullptr, 0, "unused").parent_path();
    cache_dir = dir / "cache";
    hd::write_random_checkpoint(hd::preset_config("tiny"), dir / "model", {.seed = 3});
    checkpoint = hd::Checkpoint::open(dir / "model");
    backend = hd::make_cpu_backend(*checkpoint, {.threads = 1});
    for (int i = 0; i < 24; ++i) prefix.push_back((i * 37 + 11) % checkpoint->config().vocab_size);
    {
      hd::PrefillCache cache(checkpoint->fingerprint(), {.memory_budget_bytes = 0, .disk_dir = cache_dir});
      hd::Session s(*backend, checkpoint->fingerprint(), {.max_positions = 256});
      s.prefill(prefix);
      cache.store(s, prefix, {"doc-a"});
      cache.flush();
    }
    for (const auto& f : fs::directory_iterator(cache_dir)) {
      (f.path().extension() == ".state" ? state_file : tokens_file) = f.path();
    }
    state_bytes = read_all(state_file);
    tokens_bytes = read_all(tokens_file);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static World w;
  if (size < 1) return 0;
  const int mode = data[0] % 4;
  const std::string input(reinterpret_cast<const char*>(data + 1), size - 1);
  std::string state = w.state_bytes, tokens = w.tokens_bytes;
  std::string& target = mode % 2 == 0 ? tokens : state;
  if (mode < 2) {
    for (std::size_t i = 0; i < input.size() && i < target.size(); ++i) target[i] ^= input[i];
  } else {
    target = input;
  }
  write_all(w.state_file, state);
  write_all(w.tokens_file, tokens);

  hd::PrefillCache cache(w.checkpoint->fingerprint(), {.memory_budget_bytes = 0, .disk_dir = w.cache_dir});
  hd::Session s(*w.backend, w.checkpoint->fingerprint(), {.max_positions = 256});
  const std::size_t boundary[] = {w.prefix.size()};
  const hd::CacheLookup hit = cache.restore_longest(s, w.prefix, boundary);
  // Only the real bytes may load (checksums cover every byte); anything else is a miss.
  if (hit.tokens != 0 && (state != w.state_bytes || tokens != w.tokens_bytes)) __builtin_trap();
  if (hit.tokens == 0 && s.position() != 0) __builtin_trap();
  write_all(w.state_file, state);
  write_all(w.tokens_file, tokens);
  hd::purge_prefill_files(w.cache_dir, "doc-b");
  return 0;
}
