// Every floating-point step here is mirrored in src/core/peakfinder8-reference.ts, and the tests
// require identical peak lists: keep the sampling rule, the summation orders and the formulas
// in step. The build turns off FMA contraction (binding.gyp) so a*b+c rounds twice, as in JS.
#include "peakfinder8.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <type_traits>

namespace sx {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
// Pixels per block in the seed scan: a block without any candidate is skipped after one
// vectorised comparison pass over its values.
constexpr size_t kScanBlock = 256;
constexpr size_t kPanelSlots = 32768;

template <typename In>
bool isFiniteValue(In v) {
  if constexpr (std::is_floating_point_v<In>) {
    return std::isfinite(v);
  } else {
    return true;
  }
}

// Buffers kept per thread between calls: allocated afresh, their page faults cost more than
// the work they hold (the visited map alone is a byte per pixel, 18 MB on an Eiger 16M).
struct Scratch {
  std::vector<uint8_t> visited;  // all zero between calls
  std::vector<size_t> touched;   // where visited was set during the current call
  std::vector<uint32_t> sampleBin;
  std::vector<double> sampleValue;
  std::vector<double> sorted;
  std::vector<uint32_t> count;  // per radial bin
  std::vector<size_t> start;
  std::vector<double> mean;
  std::vector<double> sigma;
  std::vector<double> high;
  std::vector<uint32_t> panelCount;
  std::vector<size_t> region;
  std::vector<double> ring;
};

Scratch& threadScratch() {
  thread_local Scratch scratch;
  return scratch;
}

// Clears what a call set in the visited map, also when the call throws.
class VisitedReset {
 public:
  explicit VisitedReset(Scratch& s) : s_(s) {}
  ~VisitedReset() {
    for (size_t i : s_.touched) s_.visited[i] = 0;
    s_.touched.clear();
  }
  VisitedReset(const VisitedReset&) = delete;
  VisitedReset& operator=(const VisitedReset&) = delete;

 private:
  Scratch& s_;
};

uint32_t hash32(size_t n) {
  uint32_t h = static_cast<uint32_t>(n) * 0x9e3779b1u;
  return h ^ (h >> 16);
}

template <typename In>
class PeakFinder8 {
 public:
  PeakFinder8(const In* frame, const PeakFinderMaps& maps, const PeakFinderFlags& flags,
              const PeakFinderParams& params)
      : frame_(frame),
        maps_(maps),
        flags_(flags),
        params_(params),
        width_(maps.width),
        pixels_(maps.width * maps.height),
        lower_(params.minRes),
        upper_(params.maxRes > 0 ? std::min(params.maxRes, kMaxRadius) : kMaxRadius),
        nBins_(static_cast<size_t>(std::ceil(upper_))) {}

  void run(PeakFinderResult& out) {
    computeRadialStats();
    if (!(minHigh_ < kInf)) return;
    VisitedReset reset(s_);
    if (s_.visited.size() < pixels_) s_.visited.resize(pixels_, 0);
    visited_ = s_.visited.data();
    s_.panelCount.assign(kPanelSlots, 0);
    scanSeeds(out);
  }

 private:
  // Radial bin of pixel i, or -1 if the pixel takes no part (no panel, masked, outside the
  // resolution window, not a finite value, flagged by its value). Every use of a pixel (radial
  // samples, seeds, growth, local background) goes through here.
  int64_t binOf(size_t i) const {
    if (maps_.panel[i] < 0 || maps_.bad[i] != 0) return -1;
    const double r = maps_.radius[i];
    if (!(r > lower_ && r < upper_)) return -1;
    if (!isFiniteValue(frame_[i]) || isFlagged(static_cast<double>(frame_[i]))) return -1;
    return static_cast<int64_t>(r);
  }

  bool isFlagged(double v) const {
    if (v < flags_.lessThan || v > flags_.moreThan) return true;
    for (size_t k = 0; k < flags_.nEqual; ++k) {
      if (v == flags_.equal[k]) return true;
    }
    return false;
  }

  bool isPeakPixel(size_t i) const {
    const int64_t b = binOf(i);
    return b >= 0 && static_cast<double>(frame_[i]) > high_[b];
  }

  // Row stride of each sampling tile (see the header).
  std::vector<uint32_t> tileStrides(size_t tilesX, size_t tilesY) const {
    std::vector<uint32_t> stride(tilesX * tilesY, kSampleTile);
    for (size_t ty = 0; ty < tilesY; ++ty) {
      const size_t y0 = ty * kSampleTile;
      const size_t y1 = std::min(y0 + kSampleTile, maps_.height) - 1;
      const size_t ym = std::min(y0 + kSampleTile / 2, y1);
      for (size_t tx = 0; tx < tilesX; ++tx) {
        const size_t x0 = tx * kSampleTile;
        const size_t x1 = std::min(x0 + kSampleTile, width_) - 1;
        const size_t xm = std::min(x0 + kSampleTile / 2, x1);
        const size_t probes[5] = {ym * width_ + xm, y0 * width_ + x0, y0 * width_ + x1,
                                  y1 * width_ + x0, y1 * width_ + x1};
        double r = kInf;
        for (size_t i : probes) {
          const double v = maps_.radius[i];
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

  void computeRadialStats() {
    const size_t tilesX = (width_ + kSampleTile - 1) / kSampleTile;
    const size_t tilesY = (maps_.height + kSampleTile - 1) / kSampleTile;
    const std::vector<uint32_t> stride = tileStrides(tilesX, tilesY);
    std::vector<uint32_t>& count = s_.count;
    count.assign(nBins_, 0);
    std::vector<uint32_t>& sampleBin = s_.sampleBin;
    std::vector<double>& sampleValue = s_.sampleValue;
    sampleBin.clear();
    sampleValue.clear();
    for (size_t y = 0; y < maps_.height; ++y) {
      const size_t ty = y / kSampleTile;
      // One phase per band of tiles: tiles of equal stride sample the same rows, so the reads
      // run on across tiles, while bands differ so no row period of the detector aliases.
      const uint32_t shifted = static_cast<uint32_t>(y) + hash32(ty);
      for (size_t tx = 0; tx < tilesX; ++tx) {
        if ((shifted & (stride[ty * tilesX + tx] - 1)) != 0) continue;
        const size_t end = y * width_ + std::min(width_, (tx + 1) * kSampleTile);
        for (size_t i = y * width_ + tx * kSampleTile; i < end; ++i) {
          const int64_t b = binOf(i);
          if (b < 0 || count[b] >= kMaxSamplesPerBin) continue;
          ++count[b];
          sampleBin.push_back(static_cast<uint32_t>(b));
          sampleValue.push_back(static_cast<double>(frame_[i]));
        }
      }
    }
    // Stable counting sort: each bin's samples contiguous, still in row-major order.
    std::vector<size_t>& start = s_.start;
    start.assign(nBins_ + 1, 0);
    for (size_t b = 0; b < nBins_; ++b) start[b + 1] = start[b] + count[b];
    std::vector<double>& sorted = s_.sorted;
    sorted.resize(sampleValue.size());
    for (size_t s = 0; s < sampleValue.size(); ++s) sorted[start[sampleBin[s]]++] = sampleValue[s];
    // start[b] now holds the end of bin b, i.e. the start of bin b + 1.
    for (size_t b = nBins_; b > 0; --b) start[b] = start[b - 1];
    start[0] = 0;

    mean_.assign(nBins_, 0.0);
    sigma_.assign(nBins_, 0.0);
    high_.assign(nBins_, kInf);
    minHigh_ = kInf;
    for (size_t b = 0; b < nBins_; ++b) {
      if (count[b] == 0) continue;
      clipBin(sorted.data() + start[b], count[b], b);
      minHigh_ = std::min(minHigh_, high_[b]);
    }
  }

  // Iterative sigma clipping of one bin's samples; sums are shifted by the first sample so
  // that large offsets (float data) do not cancel.
  void clipBin(const double* s, size_t n, size_t b) {
    const double pivot = s[0];
    double lo = -kInf;
    double hi = kInf;
    for (int round = 0; round < kClipRounds; ++round) {
      double sum = 0.0;
      double sumSq = 0.0;
      size_t m = 0;
      for (size_t j = 0; j < n; ++j) {
        const double v = s[j];
        if (v >= lo && v <= hi) {
          const double d = v - pivot;
          sum += d;
          sumSq += d * d;
          ++m;
        }
      }
      if (m == 0) break;
      const double dm = static_cast<double>(m);
      const double mean = pivot + sum / dm;
      const double variance = (sumSq - sum * sum / dm) / dm;
      const double sigma = std::sqrt(variance > 0.0 ? variance : 0.0);
      mean_[b] = mean;
      sigma_[b] = sigma;
      high_[b] = std::max(mean + params_.minSnr * sigma, params_.threshold);
      const double nextLo = mean - params_.minSnr * sigma;
      // Same limits, same samples: the remaining rounds would repeat this one.
      if (nextLo == lo && high_[b] == hi) break;
      lo = nextLo;
      hi = high_[b];
    }
  }

  // Candidates for seeds: values above minHigh that no flag rejects, so that blocks whose only
  // high values are detector markers (65535 in gap and dead pixels) are still skipped after
  // the comparison pass. flagLessThan is left to isPeakPixel: it flags low values, not these.
  void scanSeeds(PeakFinderResult& out) {
    if constexpr (std::is_floating_point_v<In>) {
      const double high = minHigh_;
      const double top = flags_.moreThan;
      scanExcluding(out, [high, top](In v) {
        const double d = static_cast<double>(v);
        return (d > high) & (d <= top);
      }, std::vector<double>(flags_.equal, flags_.equal + flags_.nEqual));
    } else {
      // For integers v > minHigh <=> v >= floor(minHigh) + 1 and v <= moreThan <=>
      // v <= floor(moreThan): compared in the pixel type.
      const double lowest = static_cast<double>(std::numeric_limits<In>::lowest());
      const double highest = static_cast<double>(std::numeric_limits<In>::max());
      const double first = std::max(std::floor(minHigh_) + 1.0, lowest);
      const double last = std::min(std::floor(flags_.moreThan), highest);
      if (first > last) return;
      const In lo = static_cast<In>(first);
      const In hi = static_cast<In>(last);
      // Equal values outside [first, last] or between integers never match a candidate.
      std::vector<In> equal;
      for (size_t k = 0; k < flags_.nEqual; ++k) {
        const double e = flags_.equal[k];
        if (e >= first && e <= last && e == std::floor(e)) equal.push_back(static_cast<In>(e));
      }
      scanExcluding(out, [lo, hi](In v) { return (v >= lo) & (v <= hi); }, equal);
    }
  }

  // scanBlocks with `inRange(v) && v != each of equal`, the number of equal values fixed at
  // compile time so that the comparison pass stays vectorised.
  template <typename T, typename InRange>
  void scanExcluding(PeakFinderResult& out, InRange inRange, const std::vector<T>& equal) {
    switch (equal.size()) {
      case 0: return scanExcludingN<0>(out, inRange, equal);
      case 1: return scanExcludingN<1>(out, inRange, equal);
      case 2: return scanExcludingN<2>(out, inRange, equal);
      case 3: return scanExcludingN<3>(out, inRange, equal);
      default: return scanExcludingN<kMaxFlagEqual>(out, inRange, equal);
    }
  }

  template <size_t N, typename T, typename InRange>
  void scanExcludingN(PeakFinderResult& out, InRange inRange, const std::vector<T>& equal) {
    static_assert(N <= kMaxFlagEqual);
    std::array<T, kMaxFlagEqual> e{};
    std::copy(equal.begin(), equal.begin() + N, e.begin());
    scanBlocks(out, [inRange, e](In v) {
      bool c = inRange(v);
      for (size_t k = 0; k < N; ++k) c = c & (static_cast<T>(v) != e[k]);
      return c;
    });
  }

  template <typename Candidate>
  void scanBlocks(PeakFinderResult& out, Candidate candidate) {
    for (size_t i0 = 0; i0 < pixels_; i0 += kScanBlock) {
      const size_t i1 = std::min(pixels_, i0 + kScanBlock);
      uint32_t candidates = 0;
      for (size_t i = i0; i < i1; ++i) candidates += candidate(frame_[i]) ? 1u : 0u;
      if (candidates == 0) continue;
      for (size_t i = i0; i < i1; ++i) {
        if (candidate(frame_[i]) && visited_[i] == 0 && isPeakPixel(i)) grow(i, out);
      }
    }
  }

  // Breadth-first 8-connected growth within the seed's panel, then the peak's measurement.
  void grow(size_t seed, PeakFinderResult& out) {
    const int16_t panel = maps_.panel[seed];
    const int64_t width = static_cast<int64_t>(width_);
    const int64_t height = static_cast<int64_t>(maps_.height);
    region_.clear();
    region_.push_back(seed);
    visited_[seed] = 1;
    s_.touched.push_back(seed);
    for (size_t head = 0; head < region_.size(); ++head) {
      const int64_t x = static_cast<int64_t>(region_[head] % width_);
      const int64_t y = static_cast<int64_t>(region_[head] / width_);
      for (int64_t dy = -1; dy <= 1; ++dy) {
        for (int64_t dx = -1; dx <= 1; ++dx) {
          const int64_t nx = x + dx;
          const int64_t ny = y + dy;
          if ((dx == 0 && dy == 0) || nx < 0 || ny < 0 || nx >= width || ny >= height) continue;
          const size_t k = static_cast<size_t>(ny * width + nx);
          if (visited_[k] != 0 || maps_.panel[k] != panel || !isPeakPixel(k)) continue;
          visited_[k] = 1;
          s_.touched.push_back(k);
          region_.push_back(k);
        }
      }
    }
    const size_t npix = region_.size();
    if (npix < params_.minPixCount || npix > params_.maxPixCount) return;
    uint32_t& panelPeaks = s_.panelCount[static_cast<size_t>(panel)];
    if (panelPeaks >= params_.maxPeaksPerPanel) return;
    if (measure(panel, out)) ++panelPeaks;
  }

  // Local background, intensity, SNR and centre of mass of region_; false if rejected.
  bool measure(int16_t panel, PeakFinderResult& out) {
    size_t centre = region_[0];
    double maxValue = static_cast<double>(frame_[centre]);
    for (size_t j : region_) {
      const double v = static_cast<double>(frame_[j]);
      if (v > maxValue) {
        maxValue = v;
        centre = j;
      }
    }
    double localMean = 0.0;
    double localSigma = 0.0;
    localBackground(centre, panel, localMean, localSigma);

    double intensity = 0.0;
    double sumX = 0.0;
    double sumY = 0.0;
    for (size_t j : region_) {
      const double w = static_cast<double>(frame_[j]) - localMean;
      intensity += w;
      sumX += w * static_cast<double>(j % width_);
      sumY += w * static_cast<double>(j / width_);
    }
    if (!(intensity > 0.0)) return false;
    const double snr = localSigma > 0.0 ? intensity / localSigma : kInf;
    if (snr < params_.minSnr) return false;
    out.fs.push_back(static_cast<float>(sumX / intensity + 0.5));
    out.ss.push_back(static_cast<float>(sumY / intensity + 0.5));
    out.panel.push_back(panel);
    out.intensity.push_back(static_cast<float>(intensity));
    out.snr.push_back(static_cast<float>(snr));
    out.npix.push_back(static_cast<int32_t>(region_.size()));
    out.maxValue.push_back(static_cast<float>(maxValue));
    return true;
  }

  // Mean and sigma of the ring R < d <= 2R around `centre`: pixels of the same panel that take
  // part and are not above their bin's high limit (so in no peak). Falls back to the centre's
  // radial bin when the ring has too few such pixels (panel corners, masked areas).
  void localBackground(size_t centre, int16_t panel, double& mean, double& sigma) {
    const int64_t r = static_cast<int64_t>(params_.localBgRadius);
    const int64_t inner2 = r * r;
    const int64_t outer2 = 4 * r * r;
    const int64_t width = static_cast<int64_t>(width_);
    const int64_t height = static_cast<int64_t>(maps_.height);
    const int64_t cx = static_cast<int64_t>(centre % width_);
    const int64_t cy = static_cast<int64_t>(centre / width_);
    ring_.clear();
    for (int64_t dy = -2 * r; dy <= 2 * r; ++dy) {
      const int64_t y = cy + dy;
      if (y < 0 || y >= height) continue;
      for (int64_t dx = -2 * r; dx <= 2 * r; ++dx) {
        const int64_t x = cx + dx;
        const int64_t d2 = dx * dx + dy * dy;
        if (x < 0 || x >= width || d2 <= inner2 || d2 > outer2) continue;
        const size_t k = static_cast<size_t>(y * width + x);
        if (maps_.panel[k] != panel) continue;
        const int64_t b = binOf(k);
        if (b < 0) continue;
        const double v = static_cast<double>(frame_[k]);
        if (v <= high_[b]) ring_.push_back(v);
      }
    }
    if (ring_.size() < kMinRingPixels) {
      const int64_t b = binOf(centre);
      mean = mean_[b];
      sigma = sigma_[b];
      return;
    }
    double sum = 0.0;
    for (double v : ring_) sum += v;
    const double n = static_cast<double>(ring_.size());
    mean = sum / n;
    double sumSq = 0.0;
    for (double v : ring_) sumSq += (v - mean) * (v - mean);
    sigma = std::sqrt(sumSq / n);
  }

  const In* frame_;
  const PeakFinderMaps& maps_;
  const PeakFinderFlags& flags_;
  const PeakFinderParams& params_;
  const size_t width_;
  const size_t pixels_;
  const double lower_;
  const double upper_;
  const size_t nBins_;
  Scratch& s_ = threadScratch();
  std::vector<double>& mean_ = s_.mean;
  std::vector<double>& sigma_ = s_.sigma;
  std::vector<double>& high_ = s_.high;
  double minHigh_ = kInf;
  uint8_t* visited_ = nullptr;
  std::vector<size_t>& region_ = s_.region;
  std::vector<double>& ring_ = s_.ring;
};

}  // namespace

template <typename In>
void findPeaks8(const In* frame, const PeakFinderMaps& maps, const PeakFinderFlags& flags,
                const PeakFinderParams& params, PeakFinderResult& out) {
  PeakFinder8<In>(frame, maps, flags, params).run(out);
}

template void findPeaks8<uint16_t>(const uint16_t*, const PeakFinderMaps&, const PeakFinderFlags&,
                                   const PeakFinderParams&, PeakFinderResult&);
template void findPeaks8<uint32_t>(const uint32_t*, const PeakFinderMaps&, const PeakFinderFlags&,
                                   const PeakFinderParams&, PeakFinderResult&);
template void findPeaks8<int32_t>(const int32_t*, const PeakFinderMaps&, const PeakFinderFlags&,
                                  const PeakFinderParams&, PeakFinderResult&);
template void findPeaks8<float>(const float*, const PeakFinderMaps&, const PeakFinderFlags&,
                                const PeakFinderParams&, PeakFinderResult&);

}  // namespace sx
