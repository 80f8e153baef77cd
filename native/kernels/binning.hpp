// NxN binning of one detector frame with a bad-pixel mask (the method OM uses).
// Plain C++ on raw pointers so it can be tested and reused without Node.
#pragma once

#include <cstddef>
#include <cstdint>

namespace sx {

struct BinningParams {
  size_t width;       // fast-scan pixels per row
  size_t height;      // slow-scan rows
  unsigned factor;    // 2..4
  unsigned minGood;   // 1..factor²: fewer good pixels make the bin bad
  double saturation;  // a good pixel >= this makes its bin bad
};

// Binned size along one axis; a partial edge bin still produces an output pixel.
inline size_t binnedSize(size_t n, unsigned factor) { return (n + factor - 1) / factor; }

// Sums need 64 bits: 16 uint32 pixels overflow 32. Integer outputs are 32-bit because a
// uint16 bin sum reaches 16 x 65535.
template <typename In>
struct BinningTraits;
template <>
struct BinningTraits<uint16_t> { using Acc = uint64_t; using Out = uint32_t; };
template <>
struct BinningTraits<uint32_t> { using Acc = uint64_t; using Out = uint32_t; };
template <>
struct BinningTraits<int32_t> { using Acc = int64_t; using Out = int32_t; };
template <>
struct BinningTraits<float> { using Acc = double; using Out = float; };

// Bins a row-major width x height frame into out / badMask, each
// binnedSize(width) x binnedSize(height). mask may be null (all pixels good); nonzero = bad.
// Returns the number of bad bins. The caller checks sizes and ranges.
template <typename In>
size_t binFrame(const In* frame, const uint8_t* mask, const BinningParams& params,
                typename BinningTraits<In>::Out* out, uint8_t* badMask);

extern template size_t binFrame<uint16_t>(const uint16_t*, const uint8_t*, const BinningParams&,
                                          uint32_t*, uint8_t*);
extern template size_t binFrame<uint32_t>(const uint32_t*, const uint8_t*, const BinningParams&,
                                          uint32_t*, uint8_t*);
extern template size_t binFrame<int32_t>(const int32_t*, const uint8_t*, const BinningParams&,
                                         int32_t*, uint8_t*);
extern template size_t binFrame<float>(const float*, const uint8_t*, const BinningParams&, float*,
                                       uint8_t*);

}  // namespace sx
