#pragma once
// The one table of StripedHyena tensor names and shapes (bare names, as the reference
// implementation writes them; the HF wrapper adds "backbone.").
#include <cstdint>
#include <string>
#include <vector>

#include "hd/engine/dtype.h"
#include "hd/engine/model_config.h"

namespace hd {

struct TensorSpec {
  std::string name;
  std::vector<std::int64_t> shape;
  bool float32_required = false;  // poles and residues: the reference keeps them in float32
};

// Every tensor `config` needs, in model order.
std::vector<TensorSpec> expected_tensors(const ModelConfig& config);

// The HF wrapper's prefix for tensor names.
inline constexpr const char* kHfPrefix = "backbone.";

// Leftovers the HF wrapper tolerates: unexpected `fftconv`/`twiddle_factors` buffers, and
// the rotary `inv_freq` buffer, which it recomputes when missing.
bool is_ignorable_extra_tensor(const std::string& bare_name);

namespace tensor_name {
std::string block(int i, const std::string& leaf);  // "blocks.<i>.<leaf>"
}

}  // namespace hd
