// Photon-count quantization on a variance-stabilising (Anscombe) scale, and its inverse.
// Plain C++ on raw pointers; codecs/quantized-reference.ts is the same computation in TypeScript.
#pragma once

#include <cstddef>
#include <cstdint>

namespace sx {

// Codes 0..exact hold x exactly (integers; floats rounded to the nearest integer). Above, bins of
// width `step` on the scale A(x) = 2 sqrt(x + 3/8), starting at A(exact + 1/2):
//   code = exact + 1 + floor((A(x) - A(exact + 1/2)) / step), clamped to maxCode;
// decode(code) = A^-1 of the bin centre. NaN and x <= 0 give code 0. For uint16/uint32 frames the
// type's all-ones value (Eiger's gap/bad marker) keeps its own code (maxCode + 1) and decodes to
// itself.
struct QuantizeParams {
  double step;      // 0.01..2
  uint32_t exact;   // >= 3
};

template <typename T>
struct QuantizeTraits;
template <>
struct QuantizeTraits<uint16_t> {
  static constexpr double maxCode = 65534.0;
  static constexpr bool hasMarker = true;
  static constexpr bool integer = true;
};
template <>
struct QuantizeTraits<uint32_t> {
  static constexpr double maxCode = 4294967294.0;
  static constexpr bool hasMarker = true;
  static constexpr bool integer = true;
};
template <>
struct QuantizeTraits<int32_t> {
  static constexpr double maxCode = 2147483647.0;
  static constexpr bool hasMarker = false;
  static constexpr bool integer = true;
};
template <>
struct QuantizeTraits<float> {
  // Float32 holds every integer up to 2^24 exactly.
  static constexpr double maxCode = 16777216.0;
  static constexpr bool hasMarker = false;
  static constexpr bool integer = false;
};

// Codes are written in the frame's own type, so decode knows the type to return.
template <typename T>
void quantizeFrame(const T* frame, size_t length, const QuantizeParams& params, T* codes);

template <typename T>
void dequantizeFrame(const T* codes, size_t length, const QuantizeParams& params, T* out);

#define SX_QUANTIZE_EXTERN(T)                                                     \
  extern template void quantizeFrame<T>(const T*, size_t, const QuantizeParams&, T*); \
  extern template void dequantizeFrame<T>(const T*, size_t, const QuantizeParams&, T*);
SX_QUANTIZE_EXTERN(uint16_t)
SX_QUANTIZE_EXTERN(uint32_t)
SX_QUANTIZE_EXTERN(int32_t)
SX_QUANTIZE_EXTERN(float)
#undef SX_QUANTIZE_EXTERN

}  // namespace sx
