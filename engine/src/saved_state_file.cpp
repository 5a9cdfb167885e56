#include "hd/engine/saved_state_file.h"

#include <xxhash.h>

#include <cstring>
#include <fstream>

#include "hd/engine/atomic_file.h"
#include "hd/engine/hash.h"

namespace hd {
namespace {

constexpr char kMagic[8] = {'H', 'D', 'S', 'A', 'V', 'S', 'T', '1'};
constexpr std::uint32_t kVersion = 1;

struct Header {
  char magic[8];
  std::uint32_t version, reserved;
  std::uint64_t fingerprint, layout;
  std::int64_t position;
  std::uint64_t payload_bytes;
  std::uint64_t header_sum;  // XXH3 of the fields above
};
static_assert(sizeof(Header) == 56);

std::uint64_t header_sum(const Header& h) { return XXH3_64bits(&h, offsetof(Header, header_sum)); }

}  // namespace

std::uint64_t layout_tag(std::string_view backend_layout, const ModelConfig& config) {
  Fnv1a64 h;
  h.update(backend_layout);
  const int shape[] = {config.num_layers, config.hidden_size, config.num_attention_heads, config.num_kv_heads,
                       config.short_filter_length, config.state_size};
  h.update(shape, sizeof shape);
  for (BlockKind k : config.blocks) h.update(&k, sizeof k);
  return h.digest();
}

void write_saved_state(const std::filesystem::path& path, const SavedState& saved, std::uint64_t model_fingerprint,
                       std::uint64_t layout) {
  const std::span<const std::byte> payload = saved.host_bytes();
  if (saved.on_device() || payload.size() != saved.bytes()) {
    throw StateError(path.string() + ": only a saved state in host memory can be written");
  }
  Header h{};
  std::memcpy(h.magic, kMagic, sizeof kMagic);
  h.version = kVersion;
  h.fingerprint = model_fingerprint;
  h.layout = layout;
  h.position = saved.position();
  h.payload_bytes = payload.size();
  h.header_sum = header_sum(h);
  const std::uint64_t payload_sum = XXH3_64bits(payload.data(), payload.size());
  try {
    write_file_atomically(path, [&](std::ostream& out) {
      out.write(reinterpret_cast<const char*>(&h), sizeof h);
      out.write(reinterpret_cast<const char*>(payload.data()), static_cast<std::streamsize>(payload.size()));
      out.write(reinterpret_cast<const char*>(&payload_sum), sizeof payload_sum);
    });
  } catch (const std::exception& e) {
    throw StateError(std::string(e.what()) + " (saved state file)");
  }
}

std::unique_ptr<SavedState> read_saved_state(const std::filesystem::path& path, const Backend& backend,
                                             std::uint64_t model_fingerprint) {
  auto fail = [&](const std::string& why) -> std::unique_ptr<SavedState> { throw StateError(path.string() + ": " + why); };
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail("cannot open the saved state file");
  std::error_code ec;
  const std::uint64_t size = std::filesystem::file_size(path, ec);
  Header h{};
  if (ec || size < sizeof h + 8 || !in.read(reinterpret_cast<char*>(&h), sizeof h) ||
      std::memcmp(h.magic, kMagic, sizeof kMagic) != 0) {
    return fail("not a HyenaDesk saved state file");
  }
  if (h.header_sum != header_sum(h)) return fail("checksum mismatch in the header: the file is damaged");
  if (h.version != kVersion) return fail("saved state version " + std::to_string(h.version) + " is not supported");
  if (h.fingerprint != model_fingerprint) return fail("the state was saved by a different model");
  if (h.layout != backend.saved_layout()) return fail("the state was saved by another backend or precision");
  if (size != sizeof h + h.payload_bytes + 8) return fail("the file is truncated or has trailing bytes");
  std::unique_ptr<SavedState> saved;
  try {
    saved = backend.blank_saved(h.position, h.payload_bytes);
  } catch (const std::invalid_argument& e) {
    return fail(e.what());
  }
  const std::span<std::byte> payload = saved->writable_host_bytes();
  std::uint64_t stored_sum = 0;
  if (!in.read(reinterpret_cast<char*>(payload.data()), static_cast<std::streamsize>(payload.size())) ||
      !in.read(reinterpret_cast<char*>(&stored_sum), sizeof stored_sum)) {
    return fail("the file is truncated");
  }
  if (XXH3_64bits(payload.data(), payload.size()) != stored_sum) return fail("checksum mismatch: the file is damaged");
  return saved;
}

}  // namespace hd
