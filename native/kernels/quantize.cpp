#include "quantize.hpp"

#include <cmath>
#include <limits>

namespace sx {

template <typename T>
void quantizeFrame(const T* frame, size_t length, const QuantizeParams& params, T* codes) {
  using Tr = QuantizeTraits<T>;
  const double exactEnd = static_cast<double>(params.exact) + 0.5;
  const double a0 = 2.0 * std::sqrt(exactEnd + 0.375);
  const double first = static_cast<double>(params.exact) + 1.0;
  const T marker = std::numeric_limits<T>::max();
  for (size_t i = 0; i < length; i++) {
    const T v = frame[i];
    if (Tr::hasMarker && v == marker) {
      codes[i] = marker;
      continue;
    }
    const double x = static_cast<double>(v);
    double code;
    if (!(x > 0.0)) {
      code = 0.0;
    } else if (x < exactEnd) {
      code = std::floor(x + 0.5);
    } else {
      code = first + std::floor((2.0 * std::sqrt(x + 0.375) - a0) / params.step);
    }
    // Clamped in double: converting an out-of-range double (or +inf) to an integer is undefined.
    codes[i] = static_cast<T>(code < Tr::maxCode ? code : Tr::maxCode);
  }
}

template <typename T>
void dequantizeFrame(const T* codes, size_t length, const QuantizeParams& params, T* out) {
  using Tr = QuantizeTraits<T>;
  const double exact = static_cast<double>(params.exact);
  const double exactEnd = exact + 0.5;
  const double a0 = 2.0 * std::sqrt(exactEnd + 0.375);
  const T marker = std::numeric_limits<T>::max();
  for (size_t i = 0; i < length; i++) {
    const T c = codes[i];
    if (Tr::hasMarker && c == marker) {
      out[i] = marker;
      continue;
    }
    const double code = static_cast<double>(c);
    if (code <= exact) {
      out[i] = static_cast<T>(code < 0.0 ? 0.0 : code);
      continue;
    }
    const double a = a0 + (code - exactEnd) * params.step;
    double x = a * a * 0.25 - 0.375;
    if (Tr::integer) {
      x = std::floor(x + 0.5);
      const double top = Tr::hasMarker ? static_cast<double>(marker) - 1.0
                                       : static_cast<double>(std::numeric_limits<T>::max());
      if (x > top) x = top;
    }
    out[i] = static_cast<T>(x);
  }
}

#define SX_QUANTIZE_INSTANTIATE(T)                                         \
  template void quantizeFrame<T>(const T*, size_t, const QuantizeParams&, T*); \
  template void dequantizeFrame<T>(const T*, size_t, const QuantizeParams&, T*);
SX_QUANTIZE_INSTANTIATE(uint16_t)
SX_QUANTIZE_INSTANTIATE(uint32_t)
SX_QUANTIZE_INSTANTIATE(int32_t)
SX_QUANTIZE_INSTANTIATE(float)

}  // namespace sx
