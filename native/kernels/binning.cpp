// Every floating-point step here is mirrored in src/reduce/binning-reference.ts, and the tests
// require bit-identical results: keep the summation order and the rescale formula in step.
#include "binning.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

namespace sx {
namespace {

template <typename In>
bool isFinitePixel(In v) {
  if constexpr (std::is_floating_point_v<In>) {
    return std::isfinite(v);
  } else {
    return true;
  }
}

// Integer outputs round half away from zero (std::round), then clamp to the type's range.
// Float outputs narrow from double as a Float32Array store does (nearest, ties to even).
template <typename Out>
Out toOutput(double value) {
  if constexpr (std::is_floating_point_v<Out>) {
    return static_cast<Out>(value);
  } else {
    const double lo = static_cast<double>(std::numeric_limits<Out>::min());
    const double hi = static_cast<double>(std::numeric_limits<Out>::max());
    return static_cast<Out>(std::clamp(std::round(value), lo, hi));
  }
}

}  // namespace

template <typename In>
size_t binFrame(const In* frame, const uint8_t* mask, const BinningParams& params,
                typename BinningTraits<In>::Out* out, uint8_t* badMask) {
  using Acc = typename BinningTraits<In>::Acc;
  using Out = typename BinningTraits<In>::Out;
  const size_t width = params.width;
  const size_t height = params.height;
  const unsigned factor = params.factor;
  const unsigned full = factor * factor;
  const size_t outWidth = binnedSize(width, factor);
  const size_t outHeight = binnedSize(height, factor);

  size_t nBad = 0;
  for (size_t oy = 0; oy < outHeight; ++oy) {
    const size_t y0 = oy * factor;
    const size_t y1 = std::min(y0 + factor, height);
    for (size_t ox = 0; ox < outWidth; ++ox) {
      const size_t x0 = ox * factor;
      const size_t x1 = std::min(x0 + factor, width);
      Acc sum = 0;
      unsigned nGood = 0;
      bool saturated = false;
      for (size_t y = y0; y < y1; ++y) {
        for (size_t x = x0; x < x1; ++x) {
          const size_t i = y * width + x;
          const In v = frame[i];
          if ((mask != nullptr && mask[i] != 0) || !isFinitePixel(v)) continue;
          sum += static_cast<Acc>(v);
          ++nGood;
          saturated |= static_cast<double>(v) >= params.saturation;
        }
      }
      const size_t o = oy * outWidth + ox;
      const bool bad = nGood < params.minGood || saturated;
      badMask[o] = bad ? 1 : 0;
      nBad += bad ? 1 : 0;
      if (bad) {
        out[o] = Out(0);
      } else {
        // Sums stay below 2^53, so the conversion to double is exact for integer input.
        const double total = static_cast<double>(sum);
        out[o] = toOutput<Out>(nGood == full ? total : total * full / nGood);
      }
    }
  }
  return nBad;
}

template size_t binFrame<uint16_t>(const uint16_t*, const uint8_t*, const BinningParams&,
                                   uint32_t*, uint8_t*);
template size_t binFrame<uint32_t>(const uint32_t*, const uint8_t*, const BinningParams&,
                                   uint32_t*, uint8_t*);
template size_t binFrame<int32_t>(const int32_t*, const uint8_t*, const BinningParams&, int32_t*,
                                  uint8_t*);
template size_t binFrame<float>(const float*, const uint8_t*, const BinningParams&, float*,
                                uint8_t*);

}  // namespace sx
