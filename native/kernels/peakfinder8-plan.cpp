// The per-geometry plan of peakfinder8 (which pixels the radial statistics sample; see
// PeakFinderPlan in the header): built once per pixel map, used for every frame. Mirrored in
// src/core/peakfinder8-reference.ts: keep the sampling rule in step.
#include "peakfinder8.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace sx {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

uint32_t hash32(size_t n) {
  uint32_t h = static_cast<uint32_t>(n) * 0x9e3779b1u;
  return h ^ (h >> 16);
}

double upperRadius(const PeakFinderParams& params) {
  return params.maxRes > 0 ? std::min(params.maxRes, kMaxRadius) : kMaxRadius;
}

// Row stride of each sampling tile (see the header).
std::vector<uint32_t> tileStrides(const PeakFinderMaps& maps, size_t tilesX, size_t tilesY) {
  const size_t width = maps.width;
  std::vector<uint32_t> stride(tilesX * tilesY, kSampleTile);
  for (size_t ty = 0; ty < tilesY; ++ty) {
    const size_t y0 = ty * kSampleTile;
    const size_t y1 = std::min(y0 + kSampleTile, maps.height) - 1;
    const size_t ym = std::min(y0 + kSampleTile / 2, y1);
    for (size_t tx = 0; tx < tilesX; ++tx) {
      const size_t x0 = tx * kSampleTile;
      const size_t x1 = std::min(x0 + kSampleTile, width) - 1;
      const size_t xm = std::min(x0 + kSampleTile / 2, x1);
      const size_t probes[5] = {ym * width + xm, y0 * width + x0, y0 * width + x1,
                                y1 * width + x0, y1 * width + x1};
      double r = kInf;
      for (size_t i : probes) {
        const double v = maps.radius[i];
        if (v >= 0.0 && v < r) r = v;
      }
      if (!(r < kMaxRadius)) continue;
      const double q = (r + 1.0) / kSampleRadiusUnit;
      uint32_t k = 1;
      while (k < kSampleTile && 2.0 * k <= q) k *= 2;
      stride[ty * tilesX + tx] = k;
    }
  }
  return stride;
}

}  // namespace

void planPeakFinder8(const PeakFinderMaps& maps, const PeakFinderParams& params,
                     PeakFinderPlan& plan) {
  plan.width = maps.width;
  plan.height = maps.height;
  plan.lower = params.minRes;
  plan.upper = upperRadius(params);
  plan.runStart.clear();
  plan.runLength.clear();
  plan.slot.clear();
  const size_t width = maps.width;
  const size_t tilesX = (width + kSampleTile - 1) / kSampleTile;
  const size_t tilesY = (maps.height + kSampleTile - 1) / kSampleTile;
  const std::vector<uint32_t> stride = tileStrides(maps, tilesX, tilesY);
  std::vector<uint32_t> count(static_cast<size_t>(std::ceil(plan.upper)), 0);
  size_t nBins = 0;
  size_t runEnd = 0;  // one past the last pixel of the current run
  for (size_t y = 0; y < maps.height; ++y) {
    const size_t ty = y / kSampleTile;
    // One phase per band of tiles: tiles of equal stride sample the same rows, so the reads
    // run on across tiles, while bands differ so no row period of the detector aliases.
    const uint32_t shifted = static_cast<uint32_t>(y) + hash32(ty);
    for (size_t tx = 0; tx < tilesX; ++tx) {
      if ((shifted & (stride[ty * tilesX + tx] - 1)) != 0) continue;
      const size_t end = y * width + std::min(width, (tx + 1) * kSampleTile);
      for (size_t i = y * width + tx * kSampleTile; i < end; ++i) {
        if (maps.panel[i] < 0) continue;
        const double r = maps.radius[i];
        if (!(r > plan.lower && r < plan.upper)) continue;
        const size_t b = static_cast<size_t>(r);
        if (i != runEnd || plan.runStart.empty()) {
          plan.runStart.push_back(i);
          plan.runLength.push_back(0);
        }
        ++plan.runLength.back();
        runEnd = i + 1;
        plan.slot.push_back(static_cast<uint32_t>(b));  // the bin, for now
        ++count[b];
        nBins = std::max(nBins, b + 1);
      }
    }
  }
  plan.nBins = nBins;
  plan.binStart.assign(nBins + 1, 0);
  for (size_t b = 0; b < nBins; ++b) plan.binStart[b + 1] = plan.binStart[b] + count[b];
  // Stable: each bin's samples stay row-major.
  std::vector<uint32_t> next(plan.binStart.begin(), plan.binStart.end() - 1);
  for (uint32_t& s : plan.slot) s = next[s]++;
}

bool planFits(const PeakFinderPlan& plan, const PeakFinderMaps& maps,
              const PeakFinderParams& params) {
  return plan.width == maps.width && plan.height == maps.height &&
         plan.lower == params.minRes && plan.upper == upperRadius(params);
}

}  // namespace sx
