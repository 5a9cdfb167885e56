#pragma once
// Host-side conversions between float and CUDA's __nv_bfloat16, through the raw bits so
// the rounding is ours (hd::float_to_bf16: round to nearest even), the same as the CPU path.
#include <cuda_bf16.h>

#include <cstdint>
#include <type_traits>

#include "hd/engine/dtype.h"

namespace hd::cuda {

inline __nv_bfloat16 bf16_from_bits(std::uint16_t bits) {
  __nv_bfloat16_raw raw;
  raw.x = bits;
  return __nv_bfloat16(raw);
}
inline std::uint16_t bits_of(__nv_bfloat16 v) { return static_cast<__nv_bfloat16_raw>(v).x; }

template <typename T>
T host_from_float(float f) {
  if constexpr (std::is_same_v<T, float>) return f;
  else return bf16_from_bits(float_to_bf16(f));
}
template <typename T>
float host_to_float(T v) {
  if constexpr (std::is_same_v<T, float>) return v;
  else return bf16_to_float(bits_of(v));
}

}  // namespace hd::cuda
