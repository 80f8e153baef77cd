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
constexpr size_t kScanBlock = kSeedScanBlock;
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
  PeakFinderPlan plan;  // for calls without one
  std::vector<double> sorted;  // the samples by bin, as SampleOf the pixel type
  std::vector<uint32_t> sorted32;
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

// Whether a value takes part (finite, flagged by no PeakFinderFlags), as isFlagged decides but
// for integers in their own type: v < t <=> v < ceil(t) and v > t <=> v > floor(t).
template <typename In, bool = std::is_floating_point_v<In>>
class ValueTest {
 public:
  explicit ValueTest(const PeakFinderFlags& flags) : flags_(flags) {}
  bool operator()(In v) const {
    if (!std::isfinite(v)) return false;
    const double d = static_cast<double>(v);
    if (d < flags_.lessThan || d > flags_.moreThan) return false;
    for (size_t k = 0; k < flags_.nEqual; ++k) {
      if (d == flags_.equal[k]) return false;
    }
    return true;
  }

 private:
  const PeakFinderFlags& flags_;
};

template <typename In>
class ValueTest<In, false> {
 public:
  explicit ValueTest(const PeakFinderFlags& flags) {
    const double lowest = static_cast<double>(std::numeric_limits<In>::lowest());
    const double highest = static_cast<double>(std::numeric_limits<In>::max());
    const double first = std::max(std::ceil(flags.lessThan), lowest);
    const double last = std::min(std::floor(flags.moreThan), highest);
    empty_ = !(first <= last);
    if (empty_) return;
    first_ = static_cast<In>(first);
    span_ = static_cast<Unsigned>(static_cast<Unsigned>(static_cast<In>(last)) -
                                  static_cast<Unsigned>(first_));
    // Equal values outside [first, last] or between integers never match a value kept.
    for (size_t k = 0; k < flags.nEqual; ++k) {
      const double e = flags.equal[k];
      if (e >= first && e <= last && e == std::floor(e)) equal_[nEqual_++] = static_cast<In>(e);
    }
  }
  size_t nEqual() const { return nEqual_; }

  // The same test with the number of equal values fixed at compile time.
  template <size_t N>
  auto fixed() const {
    static_assert(N <= kMaxFlagEqual);
    const bool empty = empty_;
    const In first = first_;
    const Unsigned span = span_;
    std::array<In, kMaxFlagEqual> equal{};
    std::copy(equal_, equal_ + N, equal.begin());
    return [empty, first, span, equal](In v) {
      // first <= v <= last as one unsigned comparison.
      bool keep = !empty & (static_cast<Unsigned>(static_cast<Unsigned>(v) -
                                                  static_cast<Unsigned>(first)) <= span);
      for (size_t k = 0; k < N; ++k) keep = keep & (v != equal[k]);
      return keep;
    };
  }

 private:
  using Unsigned = std::make_unsigned_t<In>;
  bool empty_ = false;
  In first_ = 0;
  Unsigned span_ = 0;
  In equal_[kMaxFlagEqual] = {};
  size_t nEqual_ = 0;
};

// Samples of 16-bit frames are kept as integers, as their clipping sums are exact (see clipBin),
// else as the doubles the sums run in. A sample the frame leaves out holds a value that no
// clipping limit admits: above every 16-bit value, or NaN.
template <typename In>
using SampleOf = std::conditional_t<std::is_same_v<In, uint16_t>, uint32_t, double>;

constexpr uint32_t leftOut(uint32_t) { return std::numeric_limits<uint32_t>::max(); }
constexpr double leftOut(double) { return std::numeric_limits<double>::quiet_NaN(); }
constexpr bool isLeftOut(uint32_t v) { return v > 0xffff; }
bool isLeftOut(double v) { return std::isnan(v); }

template <typename In>
class PeakFinder8 {
 public:
  PeakFinder8(const In* frame, const PeakFinderMaps& maps, const PeakFinderFlags& flags,
              const PeakFinderParams& params, const PeakFinderPlan& plan,
              const GroupMaxima* maxima)
      : frame_(frame),
        maxima_(maxima),
        maps_(maps),
        flags_(flags),
        params_(params),
        plan_(plan),
        width_(maps.width),
        pixels_(maps.width * maps.height),
        lower_(plan.lower),
        upper_(plan.upper),
        nBins_(plan.nBins) {}

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
  // resolution window, not a finite value, flagged by its value). Seeds, growth and the local
  // background go through here; the radial samples pass the same tests in the plan (panel,
  // window) and gatherSamples (mask, value).
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

  // Bins beyond the plan's last have no samples, hence no limit.
  double highOf(int64_t b) const {
    return static_cast<size_t>(b) < nBins_ ? high_[static_cast<size_t>(b)] : kInf;
  }

  bool isPeakPixel(size_t i) const {
    const int64_t b = binOf(i);
    return b >= 0 && static_cast<double>(frame_[i]) > highOf(b);
  }

  // A bin's samples are the first kMaxSamplesPerBin of its plan pixels (row-major) that this
  // frame's mask and value flags leave. All are copied to their sorted places, those left out as
  // leftOut, so that the copy has no branch and the sums skip them as they skip clipped ones.
  void computeRadialStats() {
    const size_t total = plan_.slot.size();
    std::vector<SampleOf<In>>& sorted = sortedSamples();
    sorted.resize(total);
    if constexpr (std::is_floating_point_v<In>) {
      gatherSamples(sorted.data(), ValueTest<In>(flags_));
    } else {
      const ValueTest<In> test(flags_);
      switch (test.nEqual()) {
        case 0: gatherSamples(sorted.data(), test.template fixed<0>()); break;
        case 1: gatherSamples(sorted.data(), test.template fixed<1>()); break;
        case 2: gatherSamples(sorted.data(), test.template fixed<2>()); break;
        case 3: gatherSamples(sorted.data(), test.template fixed<3>()); break;
        default: gatherSamples(sorted.data(), test.template fixed<kMaxFlagEqual>()); break;
      }
    }
    mean_.assign(nBins_, 0.0);
    sigma_.assign(nBins_, 0.0);
    high_.assign(nBins_, kInf);
    minHigh_ = kInf;
    for (size_t b = 0; b < nBins_; ++b) {
      const size_t start = plan_.binStart[b];
      const SampleOf<In>* samples = sorted.data() + start;
      size_t n = plan_.binStart[b + 1] - start;
      // The first sample taken is the pivot; after the kMaxSamplesPerBin-th none count.
      size_t first = 0;
      while (first < n && isLeftOut(samples[first])) ++first;
      if (first == n) continue;
      if (n > kMaxSamplesPerBin) {
        size_t m = 0;
        size_t j = first;
        for (; j < n && m < kMaxSamplesPerBin; ++j) m += isLeftOut(samples[j]) ? 0 : 1;
        n = j;
      }
      clipBin(samples, n, samples[first], b);
      minHigh_ = std::min(minHigh_, high_[b]);
    }
  }

  template <typename Test>
  void gatherSamples(SampleOf<In>* sorted, Test takesPart) {
    using Sample = SampleOf<In>;
    const uint32_t* slot = plan_.slot.data();
    for (size_t r = 0; r < plan_.runStart.size(); ++r) {
      const size_t i0 = plan_.runStart[r];
      const In* values = frame_ + i0;
      const uint8_t* bad = maps_.bad + i0;
      const uint32_t n = plan_.runLength[r];
      for (uint32_t j = 0; j < n; ++j) {
        const In v = values[j];
        const bool taken = (bad[j] == 0) & takesPart(v);
        sorted[slot[j]] = taken ? static_cast<Sample>(v) : leftOut(Sample{});
      }
      slot += n;
    }
  }

  std::vector<SampleOf<In>>& sortedSamples() {
    if constexpr (std::is_same_v<SampleOf<In>, uint32_t>) {
      return s_.sorted32;
    } else {
      return s_.sorted;
    }
  }

  // For 16-bit samples the shifted sums are integers below 2^53 (|v - pivot| < 2^16, at most
  // kMaxSamplesPerBin = 2^10 samples), so the reference's sequential double sums are exact and
  // equal integer sums in any order. Those come from the plain sums of v and v^2, which
  // vectorise; the limits act as the integer bounds [L, H] they imply.
  void clipBin(const uint32_t* s, size_t n, uint32_t first, size_t b) {
    static_assert(static_cast<double>(kMaxSamplesPerBin) * 65536.0 * 65536.0 < 9007199254740992.0);
    const uint64_t pivot = first;
    double lo = -kInf;
    double hi = kInf;
    int32_t prevL = -1;
    int32_t prevH = -1;
    for (int round = 0; round < kClipRounds; ++round) {
      // v >= lo <=> v >= ceil(lo) and v <= hi <=> v <= floor(hi) for integers; NaN keeps none.
      const int32_t L = lo <= 0.0 ? 0 : lo <= 65535.0 ? static_cast<int32_t>(std::ceil(lo)) : 65536;
      const int32_t H = hi >= 65535.0 ? 65535 : hi >= 0.0 ? static_cast<int32_t>(std::floor(hi)) : -1;
      if (H < L) break;  // no samples
      // The same samples as the last round give the same statistics again.
      if (L == prevL && H == prevH) break;
      prevL = L;
      prevH = H;
      const uint32_t low = static_cast<uint32_t>(L);
      const uint32_t span = static_cast<uint32_t>(H - L);
      // Masks rather than branches, so that the loop vectorises; leftOut is above every H.
      uint32_t sumV = 0;  // < 2^26
      uint64_t sumV2 = 0;
      uint32_t m = 0;
      for (size_t j = 0; j < n; ++j) {
        const uint32_t in = -static_cast<uint32_t>(s[j] - low <= span);
        const uint32_t v = s[j] & in;
        sumV += v;
        sumV2 += static_cast<uint64_t>(v * v);  // v < 2^16
        m -= in;
      }
      if (m == 0) break;
      // Sums of d = v - pivot and d^2, exactly (unsigned wrap-around cancels).
      const int64_t sum = static_cast<int64_t>(sumV - m * pivot);
      const uint64_t sumSq = sumV2 - 2 * pivot * sumV + m * pivot * pivot;
      const double dSum = static_cast<double>(sum);
      const double dSumSq = static_cast<double>(sumSq);
      if (!updateBin(static_cast<double>(pivot), dSum, dSumSq, m, b, lo, hi)) break;
    }
  }

  // Iterative sigma clipping of one bin's samples; sums are shifted by the first sample so
  // that large offsets (float data) do not cancel.
  void clipBin(const double* s, size_t n, double first, size_t b) {
    const double pivot = first;
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
      if (!updateBin(pivot, sum, sumSq, m, b, lo, hi)) break;
    }
  }

  // One round's statistics of bin b from its shifted sums over m samples; moves [lo, hi] to the
  // next round's limits, false if they did not change (the remaining rounds would repeat this).
  bool updateBin(double pivot, double sum, double sumSq, size_t m, size_t b, double& lo,
                 double& hi) {
    const double dm = static_cast<double>(m);
    const double mean = pivot + sum / dm;
    const double variance = (sumSq - sum * sum / dm) / dm;
    const double sigma = std::sqrt(variance > 0.0 ? variance : 0.0);
    mean_[b] = mean;
    sigma_[b] = sigma;
    high_[b] = std::max(mean + params_.minSnr * sigma, params_.threshold);
    const double nextLo = mean - params_.minSnr * sigma;
    if (nextLo == lo && high_[b] == hi) return false;
    lo = nextLo;
    hi = high_[b];
    return true;
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
      using Unsigned = std::make_unsigned_t<In>;
      const Unsigned lo = static_cast<Unsigned>(static_cast<In>(first));
      const Unsigned span = static_cast<Unsigned>(static_cast<Unsigned>(static_cast<In>(last)) - lo);
      // Equal values outside [first, last] or between integers never match a candidate.
      std::vector<In> equal;
      for (size_t k = 0; k < flags_.nEqual; ++k) {
        const double e = flags_.equal[k];
        if (e >= first && e <= last && e == std::floor(e)) equal.push_back(static_cast<In>(e));
      }
      skipBelow_ = maximaCover(first, last, equal) ? static_cast<int64_t>(first) : -1;
      // first <= v <= last as one unsigned comparison.
      scanExcluding(out, [lo, span](In v) {
        return static_cast<Unsigned>(static_cast<Unsigned>(v) - lo) <= span;
      }, equal);
    }
  }

  // Whether the decoder's group maxima can stand in for reading a block: made for these blocks,
  // and every candidate value (first..last, none of `equal`) is at most their cap.
  bool maximaCover(double first, double last, const std::vector<In>& equal) const {
    if constexpr (!std::is_same_v<In, uint16_t>) {
      return false;
    } else {
      if (maxima_ == nullptr || maxima_->group != kScanBlock ||
          maxima_->count != (pixels_ + kScanBlock - 1) / kScanBlock) {
        return false;
      }
      for (double v = last; v > maxima_->cap && v >= first; v -= 1.0) {
        if (std::find(equal.begin(), equal.end(), static_cast<In>(v)) == equal.end()) return false;
      }
      return true;
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
    // Or-ed in lanes as wide as the pixels: a wider count would spend the pass widening them.
    using Lane = std::conditional_t<sizeof(In) == 2, uint16_t, uint32_t>;
    for (size_t i0 = 0; i0 < pixels_; i0 += kScanBlock) {
      const size_t i1 = std::min(pixels_, i0 + kScanBlock);
      Lane any = 0;
      if (skipBelow_ >= 0) {
        // The decoder saw this block: its maximum says whether any pixel can be a seed.
        if (maxima_->values[i0 / kScanBlock] < skipBelow_) continue;
        any = 1;
      } else if (i1 - i0 == kScanBlock) {
        const In* block = frame_ + i0;
        for (size_t i = 0; i < kScanBlock; ++i) any |= static_cast<Lane>(candidate(block[i]));
      } else {
        for (size_t i = i0; i < i1; ++i) any |= static_cast<Lane>(candidate(frame_[i]));
      }
      if (any == 0) continue;
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
        if (v <= highOf(b)) ring_.push_back(v);
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
  const GroupMaxima* maxima_;
  // With usable maxima, blocks whose maximum is below this hold no seed (-1: scan every block).
  int64_t skipBelow_ = -1;
  const PeakFinderMaps& maps_;
  const PeakFinderFlags& flags_;
  const PeakFinderParams& params_;
  const PeakFinderPlan& plan_;
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
                const PeakFinderParams& params, const PeakFinderPlan* plan,
                PeakFinderResult& out, const GroupMaxima* maxima) {
  if (plan == nullptr) {
    PeakFinderPlan& own = threadScratch().plan;
    planPeakFinder8(maps, params, own);
    plan = &own;
  }
  PeakFinder8<In>(frame, maps, flags, params, *plan, maxima).run(out);
}

template void findPeaks8<uint16_t>(const uint16_t*, const PeakFinderMaps&, const PeakFinderFlags&,
                             const PeakFinderParams&, const PeakFinderPlan*, PeakFinderResult&,
                             const GroupMaxima*);
template void findPeaks8<uint32_t>(const uint32_t*, const PeakFinderMaps&, const PeakFinderFlags&,
                             const PeakFinderParams&, const PeakFinderPlan*, PeakFinderResult&,
                             const GroupMaxima*);
template void findPeaks8<int32_t>(const int32_t*, const PeakFinderMaps&, const PeakFinderFlags&,
                             const PeakFinderParams&, const PeakFinderPlan*, PeakFinderResult&,
                             const GroupMaxima*);
template void findPeaks8<float>(const float*, const PeakFinderMaps&, const PeakFinderFlags&,
                             const PeakFinderParams&, const PeakFinderPlan*, PeakFinderResult&,
                             const GroupMaxima*);

}  // namespace sx
