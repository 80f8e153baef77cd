// Peaks-only extraction: the pixels in (2 box + 1)² boxes around each peak, as a sparse byte
// layout (documented in codecs/peaks.ts). Plain C++; codecs/peaks-reference.ts is the same in
// TypeScript and the tests compare the bytes.
#pragma once

#include <cstddef>
#include <cstdint>

namespace sx {

struct PeakBoxParams {
  size_t width;
  size_t height;
  uint32_t box;       // half-width, 0..kMaxPeakBox
  uint8_t typeCode;   // 0 uint16, 1 uint32, 2 int32, 3 float32 (written to the header)
};

constexpr uint32_t kMaxPeakBox = 64;
constexpr size_t kPeakBoxHeaderBytes = 32;

// Bytes per run coordinate: 2 when both sides fit in uint16, else 4.
inline size_t peakBoxCoordBytes(size_t width, size_t height) {
  return width <= 0xffff && height <= 0xffff ? 2 : 4;
}

// An upper bound of encodePeakBoxes' output, for the caller to allocate.
inline size_t peakBoxesBound(size_t width, size_t height, size_t count, uint32_t box,
                             size_t elementBytes) {
  const size_t side = 2 * static_cast<size_t>(box) + 1;
  return kPeakBoxHeaderBytes + count * 8 + count * side * 3 * peakBoxCoordBytes(width, height) +
         count * side * side * elementBytes;
}

// Writes the layout into out (capacity >= peakBoxesBound) and returns the bytes used.
template <typename T>
size_t encodePeakBoxes(const T* frame, const float* fs, const float* ss, size_t count,
                       const PeakBoxParams& params, uint8_t* out);

extern template size_t encodePeakBoxes<uint16_t>(const uint16_t*, const float*, const float*,
                                                 size_t, const PeakBoxParams&, uint8_t*);
extern template size_t encodePeakBoxes<uint32_t>(const uint32_t*, const float*, const float*,
                                                 size_t, const PeakBoxParams&, uint8_t*);
extern template size_t encodePeakBoxes<int32_t>(const int32_t*, const float*, const float*,
                                                size_t, const PeakBoxParams&, uint8_t*);
extern template size_t encodePeakBoxes<float>(const float*, const float*, const float*, size_t,
                                              const PeakBoxParams&, uint8_t*);

}  // namespace sx
