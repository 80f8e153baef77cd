#include "peak-boxes.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

namespace sx {
namespace {

struct Run {
  uint32_t ss;
  uint32_t fs0;
  uint32_t fs1;  // inclusive
};

// Little-endian stores, independent of the host's byte order.
inline uint8_t* putLe(uint8_t* p, uint32_t v, size_t bytes) {
  for (size_t b = 0; b < bytes; b++) p[b] = static_cast<uint8_t>(v >> (8 * b));
  return p + bytes;
}

template <typename T>
inline uint8_t* putValue(uint8_t* p, T v) {
  uint32_t bits = 0;
  if constexpr (sizeof(T) == 2) {
    bits = static_cast<uint16_t>(v);
  } else {
    std::memcpy(&bits, &v, 4);
  }
  return putLe(p, bits, sizeof(T));
}

}  // namespace

template <typename T>
size_t encodePeakBoxes(const T* frame, const float* fs, const float* ss, size_t count,
                       const PeakBoxParams& params, uint8_t* out) {
  const double box = params.box;
  const double maxFs = static_cast<double>(params.width) - 1.0;
  const double maxSs = static_cast<double>(params.height) - 1.0;
  // One row segment per box row, then sorted and merged: each pixel once, adjacent boxes joined.
  std::vector<Run> rows;
  rows.reserve(count * (2 * params.box + 1));
  for (size_t k = 0; k < count; k++) {
    const double cx = std::floor(static_cast<double>(fs[k]));
    const double cy = std::floor(static_cast<double>(ss[k]));
    if (!std::isfinite(cx) || !std::isfinite(cy)) continue;
    const double x0 = std::max(0.0, cx - box), x1 = std::min(maxFs, cx + box);
    const double y0 = std::max(0.0, cy - box), y1 = std::min(maxSs, cy + box);
    if (x0 > x1 || y0 > y1) continue;
    for (double y = y0; y <= y1; y++) {
      rows.push_back({static_cast<uint32_t>(y), static_cast<uint32_t>(x0), static_cast<uint32_t>(x1)});
    }
  }
  std::sort(rows.begin(), rows.end(), [](const Run& a, const Run& b) {
    return a.ss != b.ss ? a.ss < b.ss : a.fs0 < b.fs0;
  });
  std::vector<Run> runs;
  for (const Run& r : rows) {
    if (!runs.empty() && runs.back().ss == r.ss && r.fs0 <= runs.back().fs1 + 1) {
      runs.back().fs1 = std::max(runs.back().fs1, r.fs1);
    } else {
      runs.push_back(r);
    }
  }
  size_t nPixels = 0;
  for (const Run& r : runs) nPixels += r.fs1 - r.fs0 + 1;

  const size_t coord = peakBoxCoordBytes(params.width, params.height);
  uint8_t* p = out;
  std::memcpy(p, "SXPK", 4);
  p += 4;
  *p++ = 1;  // layout version
  *p++ = params.typeCode;
  *p++ = static_cast<uint8_t>(coord);
  *p++ = 0;
  p = putLe(p, params.box, 4);
  p = putLe(p, static_cast<uint32_t>(params.width), 4);
  p = putLe(p, static_cast<uint32_t>(params.height), 4);
  p = putLe(p, static_cast<uint32_t>(count), 4);
  p = putLe(p, static_cast<uint32_t>(runs.size()), 4);
  p = putLe(p, static_cast<uint32_t>(nPixels), 4);
  for (size_t k = 0; k < count; k++) p = putValue<float>(p, fs[k]);
  for (size_t k = 0; k < count; k++) p = putValue<float>(p, ss[k]);
  for (const Run& r : runs) {
    p = putLe(p, r.ss, coord);
    p = putLe(p, r.fs0, coord);
    p = putLe(p, r.fs1 - r.fs0 + 1, coord);
  }
  for (const Run& r : runs) {
    const T* row = frame + static_cast<size_t>(r.ss) * params.width;
    for (uint32_t x = r.fs0; x <= r.fs1; x++) p = putValue<T>(p, row[x]);
  }
  return static_cast<size_t>(p - out);
}

template size_t encodePeakBoxes<uint16_t>(const uint16_t*, const float*, const float*, size_t,
                                          const PeakBoxParams&, uint8_t*);
template size_t encodePeakBoxes<uint32_t>(const uint32_t*, const float*, const float*, size_t,
                                          const PeakBoxParams&, uint8_t*);
template size_t encodePeakBoxes<int32_t>(const int32_t*, const float*, const float*, size_t,
                                         const PeakBoxParams&, uint8_t*);
template size_t encodePeakBoxes<float>(const float*, const float*, const float*, size_t,
                                       const PeakBoxParams&, uint8_t*);

}  // namespace sx
