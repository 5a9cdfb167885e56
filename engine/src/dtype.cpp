#include "hd/engine/dtype.h"

#include <cmath>

namespace hd {

std::size_t dtype_size(DType t) {
  switch (t) {
    case DType::f32: return 4;
    case DType::f16:
    case DType::bf16: return 2;
    case DType::i64: return 8;
  }
  return 0;
}

const char* dtype_name(DType t) {
  switch (t) {
    case DType::f32: return "F32";
    case DType::f16: return "F16";
    case DType::bf16: return "BF16";
    case DType::i64: return "I64";
  }
  return "?";
}

float f16_to_float(std::uint16_t h) {
  const std::uint32_t sign = (h >> 15) & 1u, exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu;
  float v;
  if (exp == 0) v = std::ldexp(static_cast<float>(mant), -24);                         // subnormal or zero
  else if (exp == 31) v = mant ? std::nanf("") : INFINITY;
  else v = std::ldexp(static_cast<float>(mant | 0x400u), static_cast<int>(exp) - 25);
  return sign ? -v : v;
}

std::uint16_t float_to_f16(float f) {
  // Through the hardware-independent route: scale into half's range and round to nearest even.
  std::uint32_t bits;
  std::memcpy(&bits, &f, 4);
  const std::uint16_t sign = static_cast<std::uint16_t>((bits >> 16) & 0x8000u);
  float a = std::fabs(f);
  if (std::isnan(f)) return sign | 0x7e00u;
  if (a >= 65520.f) return sign | 0x7c00u;  // overflows to infinity
  if (a < std::ldexp(1.f, -14)) {           // subnormal: units of 2^-24
    return sign | static_cast<std::uint16_t>(std::nearbyint(a * std::ldexp(1.f, 24)));
  }
  int e;
  float m = std::frexp(a, &e);  // a = m * 2^e, m in [0.5, 1)
  auto mant = static_cast<std::uint32_t>(std::nearbyint((m * 2.f - 1.f) * 1024.f));
  int exp = e - 1 + 15;
  if (mant == 1024) { mant = 0; ++exp; }
  if (exp >= 31) return sign | 0x7c00u;
  return sign | static_cast<std::uint16_t>((exp << 10) | mant);
}

void to_float(DType t, const void* src, float* dst, std::size_t count) {
  switch (t) {
    case DType::f32:
      std::memcpy(dst, src, count * 4);
      return;
    case DType::bf16:
    case DType::f16: {
      // Tensors in a safetensors file need not be 2-byte aligned: read through memcpy.
      const auto* bytes = static_cast<const unsigned char*>(src);
      for (std::size_t i = 0; i < count; ++i) {
        std::uint16_t v;
        std::memcpy(&v, bytes + 2 * i, 2);
        dst[i] = t == DType::bf16 ? bf16_to_float(v) : f16_to_float(v);
      }
      return;
    }
    case DType::i64: {
      const auto* bytes = static_cast<const unsigned char*>(src);
      for (std::size_t i = 0; i < count; ++i) {
        std::int64_t v;
        std::memcpy(&v, bytes + 8 * i, 8);
        dst[i] = static_cast<float>(v);
      }
      return;
    }
  }
}

}  // namespace hd
