#pragma once
// Element types of checkpoint tensors and conversions between them on the host.
#include <cstdint>
#include <cstring>
#include <string>

namespace hd {

// i64 is read so files holding index tensors (BERT's position_ids) open; weights must be floats.
enum class DType { f32, f16, bf16, i64 };

std::size_t dtype_size(DType t);
const char* dtype_name(DType t);  // safetensors spelling: "F32", "F16", "BF16", "I64"
inline bool is_float(DType t) { return t != DType::i64; }

// bfloat16 <-> float32: round to nearest even, NaN kept NaN.
inline std::uint16_t float_to_bf16(float f) {
  std::uint32_t bits;
  std::memcpy(&bits, &f, 4);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((bits >> 16) | 0x40);  // quiet NaN
  bits += 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<std::uint16_t>(bits >> 16);
}
inline float bf16_to_float(std::uint16_t h) {
  std::uint32_t bits = static_cast<std::uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}
float f16_to_float(std::uint16_t h);
std::uint16_t float_to_f16(float f);

// Converts `count` elements stored as `t` at `src` into float32.
void to_float(DType t, const void* src, float* dst, std::size_t count);

}  // namespace hd
