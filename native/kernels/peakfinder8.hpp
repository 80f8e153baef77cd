// The peakfinder8 method (CrystFEL / Cheetah / OM) on one frame. Plain C++ on raw pointers so
// it can be tested and reused without Node. Every step is mirrored in
// src/core/peakfinder8-reference.ts and the tests require identical peak lists: change both.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "group-maxima.hpp"

namespace sx {

// CrystFEL's parameter names and meanings; the caller checks ranges.
struct PeakFinderParams {
  double threshold;           // absolute floor of every bin's high limit
  double minSnr;              // clip factor of the radial statistics and minimum peak SNR
  uint32_t minPixCount;       // >= 1
  uint32_t maxPixCount;       // >= minPixCount
  uint32_t localBgRadius;     // >= 1: the local background ring is R < d <= 2R
  double minRes;              // pixels are used only if minRes < radius
  double maxRes;              // ... and radius < maxRes (0 = no upper cut)
  uint32_t maxPeaksPerPanel;  // later peaks of a full panel are dropped
};

// Per-pixel maps, each width x height, row-major (fs fastest).
struct PeakFinderMaps {
  const float* radius;   // distance from the beam in pixels
  const int16_t* panel;  // panel index, < 0 = no panel
  const uint8_t* bad;    // nonzero = masked
  size_t width;
  size_t height;
};

// Most values of flagEqual: geometries name one (CrystFEL's flag_equal), detectors a marker.
constexpr size_t kMaxFlagEqual = 4;

// Pixels made bad by their value in this frame, exactly as if set in `bad`: v < lessThan,
// v > moreThan or v == one of equal[0, nEqual) (CrystFEL's flag_lessthan / flag_morethan /
// flag_equal), compared as doubles. Checking them where the kernel reads a pixel anyway spares
// the caller a masking pass over the frame. The defaults flag nothing.
struct PeakFinderFlags {
  double lessThan = -std::numeric_limits<double>::infinity();
  double moreThan = std::numeric_limits<double>::infinity();
  double equal[kMaxFlagEqual] = {};
  size_t nEqual = 0;  // <= kMaxFlagEqual
};

// Struct of arrays, one entry per peak in the order the seeds were met (row-major).
struct PeakFinderResult {
  std::vector<float> fs;  // centre of mass + 0.5
  std::vector<float> ss;
  std::vector<int16_t> panel;
  std::vector<float> intensity;
  std::vector<float> snr;
  std::vector<int32_t> npix;
  std::vector<float> maxValue;
};

// Radial statistics (bin b = floor(radius)) come from a deterministic subsample of whole row
// segments, so that most of the maps is never read. The frame is cut into kSampleTile-square
// tiles; a tile reads every k-th of its rows, k the largest power of two <= (r + 1) /
// kSampleRadiusUnit, from 1 to kSampleTile, where r is the smallest radius >= 0 at the tile's
// centre and corners (k = kSampleTile if there is none: the tile is off the detector). The rows
// read are those with (y + hash32(ty)) % k == 0, ty = y / kSampleTile the tile band and
// hash32(n) = m ^ (m >> 16), m = n * 0x9e3779b1 mod 2^32. A ring of radius r holds ~2 pi r
// pixels, so a bin gets ~200-400 samples, and all pixels within ~60 px of the beam. Each bin
// keeps its first kMaxSamplesPerBin samples in row-major order.
constexpr uint32_t kSampleTile = 64;
constexpr double kSampleRadiusUnit = 32.0;
constexpr size_t kMaxSamplesPerBin = 1024;
constexpr int kClipRounds = 5;
// Pixels at or beyond this radius are ignored, which bounds the number of radial bins.
constexpr double kMaxRadius = 65536.0;
// With fewer ring pixels than this, a peak's local background is its radial bin's.
constexpr size_t kMinRingPixels = 4;

// The part of the radial statistics that depends only on the geometry and the resolution
// window: the pixels the sampling rule above reads that have a panel and a radius inside the
// window, and where each goes among the samples sorted by bin. `bad` and the value flags are
// still checked per frame, so one plan serves any mask. Built once per map, it spares every
// frame the strided pass over the radius and panel maps, which costs about as much as the scan
// of the whole frame.
struct PeakFinderPlan {
  size_t width = 0;
  size_t height = 0;
  double lower = 0.0;  // the window it was built for: lower < radius < upper
  double upper = 0.0;
  size_t nBins = 0;  // 1 + the largest bin sampled; pixels of later bins have no limit
  std::vector<size_t> runStart;  // first pixel of each run of consecutive sampled pixels
  std::vector<uint32_t> runLength;
  std::vector<uint32_t> slot;      // each sampled pixel's place in the sorted samples, in runs
  std::vector<uint32_t> binStart;  // nBins + 1: where each bin's samples start (row-major)
};

// The plan for `maps` (radius and panel only) and params' minRes and maxRes.
void planPeakFinder8(const PeakFinderMaps& maps, const PeakFinderParams& params,
                     PeakFinderPlan& plan);

// Whether `plan` was built for maps of this size and params' resolution window; the caller
// makes sure it was built from the same radius and panel maps.
bool planFits(const PeakFinderPlan& plan, const PeakFinderMaps& maps,
              const PeakFinderParams& params);

// The seed scan reads the frame in blocks of this many pixels (row-major), skipping a block with
// no candidate; group maxima of this size let it skip one without reading it.
constexpr size_t kSeedScanBlock = 256;

// Finds the peaks of a width x height frame. The caller checks sizes and ranges; `plan`, if not
// null, fits (planFits), else one is built for this call. `maxima` (uint16 frames; may be null)
// are the frame's kSeedScanBlock group maxima from its decoder: they change no result, only
// which blocks are read; maxima of another grouping, or whose cap is below a candidate value,
// are not used.
template <typename In>
void findPeaks8(const In* frame, const PeakFinderMaps& maps, const PeakFinderFlags& flags,
                const PeakFinderParams& params, const PeakFinderPlan* plan,
                PeakFinderResult& out, const GroupMaxima* maxima = nullptr);

extern template void findPeaks8<uint16_t>(const uint16_t*, const PeakFinderMaps&,
                                    const PeakFinderFlags&, const PeakFinderParams&,
                                    const PeakFinderPlan*, PeakFinderResult&, const GroupMaxima*);
extern template void findPeaks8<uint32_t>(const uint32_t*, const PeakFinderMaps&,
                                    const PeakFinderFlags&, const PeakFinderParams&,
                                    const PeakFinderPlan*, PeakFinderResult&, const GroupMaxima*);
extern template void findPeaks8<int32_t>(const int32_t*, const PeakFinderMaps&,
                                    const PeakFinderFlags&, const PeakFinderParams&,
                                    const PeakFinderPlan*, PeakFinderResult&, const GroupMaxima*);
extern template void findPeaks8<float>(const float*, const PeakFinderMaps&,
                                    const PeakFinderFlags&, const PeakFinderParams&,
                                    const PeakFinderPlan*, PeakFinderResult&, const GroupMaxima*);

}  // namespace sx
