#include "hd/engine/inference_state.h"

#include <cstring>
#include <fstream>
#include <sstream>

#include "hd/engine/atomic_file.h"
#include "hd/engine/hash.h"

namespace hd {
namespace {

constexpr char kMagic[8] = {'H', 'D', 'S', 'T', 'A', 'T', 'E', '\0'};
constexpr std::uint32_t kVersion = 1;
constexpr std::uint8_t kDtypeF32 = 1;

class Writer {
 public:
  template <typename T>
  void put(const T& v) {
    buf_.append(reinterpret_cast<const char*>(&v), sizeof v);
  }
  template <typename T>
  void put_array(const std::vector<T>& v) {
    put<std::uint64_t>(v.size());
    buf_.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
  }
  std::string& bytes() { return buf_; }

 private:
  std::string buf_;
};

class Reader {
 public:
  Reader(const std::string& bytes, const std::filesystem::path& path) : b_(bytes), path_(path) {}
  [[noreturn]] void fail(const std::string& why) const { throw StateError(path_.string() + ": " + why); }
  template <typename T>
  T get() {
    if (pos_ + sizeof(T) > end_) fail("truncated state file");
    T v;
    std::memcpy(&v, b_.data() + pos_, sizeof v);
    pos_ += sizeof v;
    return v;
  }
  template <typename T>
  std::vector<T> get_array(std::uint64_t expected, const char* what) {
    auto n = get<std::uint64_t>();
    if (n != expected) fail(std::string(what) + " has " + std::to_string(n) + " values, expected " + std::to_string(expected));
    if (pos_ + n * sizeof(T) > end_) fail("truncated state file");
    std::vector<T> v(n);
    std::memcpy(v.data(), b_.data() + pos_, n * sizeof(T));
    pos_ += n * sizeof(T);
    return v;
  }
  void set_end(std::size_t end) { end_ = end; }
  std::size_t pos() const { return pos_; }

 private:
  const std::string& b_;
  const std::filesystem::path& path_;
  std::size_t pos_ = 0, end_ = 0;
};

}  // namespace

InferenceState InferenceState::empty_for(const ModelConfig& c) {
  InferenceState s;
  s.kinds = c.blocks;
  s.attention.resize(c.num_layers);
  s.hyena.resize(c.num_layers);
  for (int i = 0; i < c.num_layers; ++i) {
    if (c.blocks[i] == BlockKind::attention) {
      s.attention[i].kv_width = c.num_kv_heads * c.head_dim();
    } else {
      HyenaState& h = s.hyena[i];
      h.fir_taps = c.short_filter_length - 1;
      h.channels = 3 * c.hidden_size;
      h.fir.assign(static_cast<std::size_t>(h.fir_taps) * h.channels, 0.0f);
      h.state_size = c.state_size;
      h.iir.assign(static_cast<std::size_t>(c.hidden_size) * c.state_size, {0.0f, 0.0f});
    }
  }
  return s;
}

std::uint64_t InferenceState::bytes() const {
  std::uint64_t n = 0;
  for (const auto& a : attention) n += (a.k.size() + a.v.size()) * sizeof(float);
  for (const auto& h : hyena) n += h.fir.size() * sizeof(float) + h.iir.size() * sizeof(std::complex<float>);
  return n;
}

void InferenceState::save(const std::filesystem::path& path, std::uint64_t model_fingerprint) const {
  Writer w;
  w.bytes().append(kMagic, sizeof kMagic);
  w.put(kVersion);
  w.put(model_fingerprint);
  w.put<std::int64_t>(position);
  w.put<std::uint32_t>(static_cast<std::uint32_t>(kinds.size()));
  for (std::size_t i = 0; i < kinds.size(); ++i) {
    w.put<std::uint8_t>(kinds[i] == BlockKind::attention ? 0 : 1);
    w.put(kDtypeF32);
    if (kinds[i] == BlockKind::attention) {
      w.put<std::uint32_t>(static_cast<std::uint32_t>(attention[i].kv_width));
      w.put_array(attention[i].k);
      w.put_array(attention[i].v);
    } else {
      const HyenaState& h = hyena[i];
      w.put<std::uint32_t>(static_cast<std::uint32_t>(h.fir_taps));
      w.put<std::uint32_t>(static_cast<std::uint32_t>(h.channels));
      w.put<std::uint32_t>(static_cast<std::uint32_t>(h.state_size));
      w.put_array(h.fir);
      w.put_array(h.iir);
    }
  }
  Fnv1a64 sum;
  sum.update(w.bytes());
  w.put(sum.digest());

  try {
    write_file_atomically(path, [&](std::ostream& out) {
      out.write(w.bytes().data(), static_cast<std::streamsize>(w.bytes().size()));
    });
  } catch (const std::exception& e) {
    throw StateError(std::string(e.what()) + " (state file)");
  }
}

InferenceState InferenceState::load(const std::filesystem::path& path, std::uint64_t model_fingerprint,
                                    const ModelConfig& config) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw StateError(path.string() + ": cannot open state file");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string bytes = ss.str();
  Reader r(bytes, path);
  if (bytes.size() < sizeof kMagic + 4 + 8 || std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0) {
    r.fail("not a HyenaDesk state file");
  }
  // The checksum covers everything before it; check it before trusting any length.
  Fnv1a64 sum;
  sum.update(bytes.data(), bytes.size() - 8);
  std::uint64_t stored;
  std::memcpy(&stored, bytes.data() + bytes.size() - 8, 8);
  r.set_end(bytes.size() - 8);
  for (std::size_t i = 0; i < sizeof kMagic; ++i) r.get<char>();
  auto version = r.get<std::uint32_t>();
  if (version != kVersion) {
    r.fail("state file version " + std::to_string(version) + " is not supported (this program reads version " +
           std::to_string(kVersion) + ")");
  }
  if (stored != sum.digest()) r.fail("checksum mismatch: the state file is damaged");
  if (r.get<std::uint64_t>() != model_fingerprint) r.fail("the state was saved by a different model");

  InferenceState s = empty_for(config);
  s.position = r.get<std::int64_t>();
  if (s.position < 0) r.fail("negative position");
  if (r.get<std::uint32_t>() != static_cast<std::uint32_t>(config.num_layers)) r.fail("block count differs from the model");
  for (int i = 0; i < config.num_layers; ++i) {
    const bool attn = r.get<std::uint8_t>() == 0;
    if (attn != (config.blocks[i] == BlockKind::attention)) r.fail("block " + std::to_string(i) + " has another kind");
    if (r.get<std::uint8_t>() != kDtypeF32) r.fail("block " + std::to_string(i) + ": unsupported dtype");
    if (attn) {
      AttentionCache& a = s.attention[i];
      if (r.get<std::uint32_t>() != static_cast<std::uint32_t>(a.kv_width)) r.fail("attention width differs");
      const std::uint64_t n = static_cast<std::uint64_t>(s.position) * a.kv_width;
      a.k = r.get_array<float>(n, "key cache");
      a.v = r.get_array<float>(n, "value cache");
    } else {
      HyenaState& h = s.hyena[i];
      if (r.get<std::uint32_t>() != static_cast<std::uint32_t>(h.fir_taps) ||
          r.get<std::uint32_t>() != static_cast<std::uint32_t>(h.channels) ||
          r.get<std::uint32_t>() != static_cast<std::uint32_t>(h.state_size)) {
        r.fail("block " + std::to_string(i) + ": Hyena state shape differs from the model");
      }
      h.fir = r.get_array<float>(h.fir.size(), "FIR state");
      h.iir = r.get_array<std::complex<float>>(h.iir.size(), "IIR state");
    }
  }
  if (r.pos() != bytes.size() - 8) r.fail("trailing bytes after the last block");
  return s;
}

}  // namespace hd
