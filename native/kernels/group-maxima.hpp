// Maxima of a uint16 frame's consecutive groups of pixels, taken while it is decoded (the values
// are in cache then), so that the peak finder can skip groups that hold no candidate seed
// without reading them again (see scanBlocks in peakfinder8.cpp).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

namespace sx {

// values[g] = the largest of pixels g*group .. (g+1)*group - 1 that is <= cap (0 if none):
// values above cap (detector markers) are left out, as no seed can have them.
struct GroupMaxima {
  size_t group;
  uint16_t cap;
  uint16_t* values;
  size_t count;  // ceil(pixels / group)
};

// Folds pixels first .. first + n - 1 of `data` (the whole frame) into m; values start at 0.
inline void foldGroupMaxima(const uint16_t* data, size_t first, size_t n, const GroupMaxima& m) {
  const size_t end = first + n;
  size_t g = first / m.group;
  size_t i = first;
#ifdef __SSE2__
  // Whole groups 8 pixels at a time. SSE2 has no unsigned 16-bit max: values are biased by
  // 0x8000 into the signed range, and those above cap zeroed first (a saturating subtraction
  // of cap leaves 0 exactly for them).
  if (m.group % 8 == 0) {
    const __m128i bias = _mm_set1_epi16(static_cast<int16_t>(0x8000));
    const __m128i capv = _mm_set1_epi16(static_cast<int16_t>(m.cap));
    const __m128i zero = _mm_setzero_si128();
    while (i == g * m.group && i + m.group <= end) {
      __m128i acc = bias;
      for (const uint16_t* p = data + i; p < data + i + m.group; p += 8) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
        const __m128i kept = _mm_and_si128(v, _mm_cmpeq_epi16(_mm_subs_epu16(v, capv), zero));
        acc = _mm_max_epi16(acc, _mm_xor_si128(kept, bias));
      }
      acc = _mm_max_epi16(acc, _mm_shuffle_epi32(acc, _MM_SHUFFLE(1, 0, 3, 2)));
      acc = _mm_max_epi16(acc, _mm_shuffle_epi32(acc, _MM_SHUFFLE(2, 3, 0, 1)));
      acc = _mm_max_epi16(acc, _mm_shufflelo_epi16(acc, _MM_SHUFFLE(2, 3, 0, 1)));
      const uint16_t best = static_cast<uint16_t>(_mm_cvtsi128_si32(acc) ^ 0x8000);
      m.values[g] = std::max(m.values[g], best);
      i += m.group;
      ++g;
    }
  }
#endif
  // Partial groups (a block that ends inside one, the frame's tail), and builds without SSE2.
  for (; i < end; ++i) {
    g = i / m.group;
    const uint16_t v = data[i];
    if (v <= m.cap && v > m.values[g]) m.values[g] = v;
  }
}

}  // namespace sx
