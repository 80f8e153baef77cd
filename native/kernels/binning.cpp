// Every floating-point step here is mirrored in src/reduce/binning-reference.ts, and the tests
// require bit-identical results: keep the summation order and the rescale formula in step.
#include "binning.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

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

template <typename In>
size_t binGeneric(const In* frame, const uint8_t* mask, const BinningParams& params,
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


// Integer frames, one output row at a time: the factor input rows are summed column-wise into
// per-bin accumulators (a row of them stays in L1), with no per-pixel branch, so the compiler
// vectorizes it. Same sums, same rescale as binGeneric, so the output is identical.
template <typename In, unsigned F, bool HasMask>
size_t binIntegerRows(const In* frame, const uint8_t* mask, const BinningParams& params,
                      typename BinningTraits<In>::Out* out, uint8_t* badMask) {
  using Out = typename BinningTraits<In>::Out;
  // A bin of F² uint16 pixels sums below 2^32; wider inputs need 64 bits.
  using Acc = std::conditional_t<std::is_same_v<In, uint16_t>, uint32_t,
                                 typename BinningTraits<In>::Acc>;
  const size_t width = params.width;
  const size_t height = params.height;
  const unsigned full = F * F;
  const size_t outWidth = binnedSize(width, F);
  const size_t outHeight = binnedSize(height, F);
  const size_t fullBins = width / F;
  // An integer pixel v is saturated when v >= saturation, i.e. when v >= ceil(saturation).
  const double satCeil = std::ceil(params.saturation);
  const bool neverSaturated = !(satCeil <= static_cast<double>(std::numeric_limits<In>::max()));
  const In threshold = neverSaturated || satCeil <= static_cast<double>(std::numeric_limits<In>::min())
                           ? std::numeric_limits<In>::min()
                           : static_cast<In>(satCeil);

  std::vector<Acc> sum(outWidth);
  std::vector<uint8_t> good(outWidth);
  std::vector<uint8_t> saturated(outWidth);
  size_t nBad = 0;
  for (size_t oy = 0; oy < outHeight; ++oy) {
    std::fill(sum.begin(), sum.end(), Acc(0));
    std::fill(good.begin(), good.end(), uint8_t(0));
    std::fill(saturated.begin(), saturated.end(), uint8_t(0));
    const size_t y1 = std::min(oy * F + F, height);
    for (size_t y = oy * F; y < y1; ++y) {
      const In* row = frame + y * width;
      const uint8_t* maskRow = HasMask ? mask + y * width : nullptr;
      for (size_t ox = 0; ox < fullBins; ++ox) {
        Acc s = 0;
        uint8_t g = 0;
        uint8_t sat = 0;
        for (unsigned dx = 0; dx < F; ++dx) {
          const size_t x = ox * F + dx;
          const In v = row[x];
          const uint8_t ok = HasMask ? uint8_t(maskRow[x] == 0) : uint8_t(1);
          s += ok ? static_cast<Acc>(v) : Acc(0);
          g += ok;
          sat |= ok & uint8_t(!neverSaturated && v >= threshold);
        }
        sum[ox] += s;
        good[ox] += g;
        saturated[ox] |= sat;
      }
      for (size_t x = fullBins * F; x < width; ++x) {
        const In v = row[x];
        if (HasMask && maskRow[x] != 0) continue;
        sum[fullBins] += static_cast<Acc>(v);
        good[fullBins] += 1;
        saturated[fullBins] |= uint8_t(!neverSaturated && v >= threshold);
      }
    }
    Out* outRow = out + oy * outWidth;
    uint8_t* badRow = badMask + oy * outWidth;
    for (size_t ox = 0; ox < outWidth; ++ox) {
      const bool bad = good[ox] < params.minGood || saturated[ox] != 0;
      badRow[ox] = bad ? 1 : 0;
      nBad += bad ? 1 : 0;
      if (bad) {
        outRow[ox] = Out(0);
      } else if (good[ox] == full) {
        outRow[ox] = toOutput<Out>(static_cast<double>(sum[ox]));
      } else {
        outRow[ox] = toOutput<Out>(static_cast<double>(sum[ox]) * full / good[ox]);
      }
    }
  }
  return nBad;
}

template <typename In, bool HasMask>
size_t binInteger(const In* frame, const uint8_t* mask, const BinningParams& params,
                  typename BinningTraits<In>::Out* out, uint8_t* badMask) {
  switch (params.factor) {
    case 2: return binIntegerRows<In, 2, HasMask>(frame, mask, params, out, badMask);
    case 3: return binIntegerRows<In, 3, HasMask>(frame, mask, params, out, badMask);
    default: return binIntegerRows<In, 4, HasMask>(frame, mask, params, out, badMask);
  }
}

}  // namespace

template <typename In>
size_t binFrame(const In* frame, const uint8_t* mask, const BinningParams& params,
                typename BinningTraits<In>::Out* out, uint8_t* badMask) {
  if constexpr (std::is_floating_point_v<In>) {
    return binGeneric(frame, mask, params, out, badMask);
  } else {
    return mask != nullptr ? binInteger<In, true>(frame, mask, params, out, badMask)
                           : binInteger<In, false>(frame, mask, params, out, badMask);
  }
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
