// The x86-64 SIMD paths of bitshuffle (SSE2 and AVX2), included by bitshuffle.cpp only: each
// returns where it stopped, and the scalar path there does the rest of the block.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

// SIMD paths exist for x86-64 only; AVX2 code is compiled per function (target attribute) and runs
// only after the CPU check, so the addon keeps its baseline flags and loads on any x86-64.
#if defined(__x86_64__) && defined(__GNUC__)
#define SX_BITSHUFFLE_X86 1
#include <immintrin.h>
#define SX_AVX2 __attribute__((target("avx2")))
#else
#define SX_BITSHUFFLE_X86 0
#endif

#if SX_BITSHUFFLE_X86
namespace sx::bitshuffle_x86 {

// ---- SSE2 (every x86-64 has it): 16 elements per step when shuffling, 128 when unshuffling. ----
//
// Shuffling collects byte j of 16 elements into one vector; movemask then reads bit 7 of all 16
// bytes at once (element i -> bit i, as the planes want) and doubling moves the next bit up.
// Unshuffling loads 16 bytes of each of a byte's 8 planes, transposes every group's 8x8 bit matrix
// with delta swaps between the 8 rows (3 steps, 6 instructions per pair of rows; swaps inside one
// 64-bit lane would need twice as many), then interleaves the rows bytewise into elements.

inline void storePlanes(__m128i v, uint8_t* planes, size_t groups) {
  for (size_t k = 8; k-- > 0;) {
    const uint16_t bits = static_cast<uint16_t>(_mm_movemask_epi8(v));
    std::memcpy(planes + k * groups, &bits, 2);  // little-endian: elements 0-7, then 8-15
    v = _mm_add_epi8(v, v);
  }
}

template <size_t ES>
size_t shuffleSse2(const uint8_t* in, uint8_t* out, size_t n, size_t from) {
  const size_t groups = n / 8;
  const __m128i lowByte = _mm_set1_epi16(0x00FF);
  const __m128i lowByte32 = _mm_set1_epi32(0xFF);
  size_t e = from;
  for (; e + 16 <= n; e += 16) {
    const __m128i* src = reinterpret_cast<const __m128i*>(in + e * ES);
    uint8_t* planes = out + e / 8;
    if constexpr (ES == 1) {
      storePlanes(_mm_loadu_si128(src), planes, groups);
    } else if constexpr (ES == 2) {
      const __m128i a = _mm_loadu_si128(src);
      const __m128i b = _mm_loadu_si128(src + 1);
      storePlanes(_mm_packus_epi16(_mm_and_si128(a, lowByte), _mm_and_si128(b, lowByte)), planes,
                  groups);
      storePlanes(_mm_packus_epi16(_mm_srli_epi16(a, 8), _mm_srli_epi16(b, 8)),
                  planes + 8 * groups, groups);
    } else {
      __m128i v[4];
      for (int q = 0; q < 4; ++q) v[q] = _mm_loadu_si128(src + q);
      for (size_t j = 0; j < 4; ++j) {
        __m128i w[4];
        for (int q = 0; q < 4; ++q) w[q] = _mm_and_si128(v[q], lowByte32);
        storePlanes(_mm_packus_epi16(_mm_packs_epi32(w[0], w[1]), _mm_packs_epi32(w[2], w[3])),
                    planes + j * 8 * groups, groups);
        for (int q = 0; q < 4; ++q) v[q] = _mm_srli_epi32(v[q], 8);
      }
    }
  }
  return e;
}

// Swaps the bits of a selected by `mask` after shifting right by S with the same bits of b. The
// 16-bit shifts leak a neighbour's bits only into positions the mask clears.
template <int S>
inline void swapBits(__m128i& a, __m128i& b, __m128i mask) {
  const __m128i t = _mm_and_si128(_mm_xor_si128(_mm_srli_epi16(a, S), b), mask);
  b = _mm_xor_si128(b, t);
  a = _mm_xor_si128(a, _mm_slli_epi16(t, S));
}

// The 8 planes of one byte (rows `stride` apart) of 16 groups -> q[m] = that byte of elements
// 16m .. 16m + 15.
inline void unshufflePlanes(const uint8_t* planes, size_t stride, __m128i q[8]) {
  __m128i r[8];
  for (size_t k = 0; k < 8; ++k) r[k] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(planes + k * stride));
  // Row k byte b holds bit k of elements 8b .. 8b + 7; afterwards row c byte b is element 8b + c.
  const __m128i m4 = _mm_set1_epi8(0x0F), m2 = _mm_set1_epi8(0x33), m1 = _mm_set1_epi8(0x55);
  for (int k = 0; k < 4; ++k) swapBits<4>(r[k], r[k + 4], m4);
  for (int k : {0, 1, 4, 5}) swapBits<2>(r[k], r[k + 2], m2);
  for (int k : {0, 2, 4, 6}) swapBits<1>(r[k], r[k + 1], m1);
  // Byte transpose: 16-bit words (r0, r1)[b], then 32-bit (r0..r3)[b], then 64-bit (r0..r7)[b].
  __m128i a[8], c[8];
  for (int p = 0; p < 4; ++p) {
    a[2 * p] = _mm_unpacklo_epi8(r[2 * p], r[2 * p + 1]);
    a[2 * p + 1] = _mm_unpackhi_epi8(r[2 * p], r[2 * p + 1]);
  }
  for (int h = 0; h < 2; ++h) {  // rows 0-3, then rows 4-7
    c[4 * h + 0] = _mm_unpacklo_epi16(a[4 * h + 0], a[4 * h + 2]);
    c[4 * h + 1] = _mm_unpackhi_epi16(a[4 * h + 0], a[4 * h + 2]);
    c[4 * h + 2] = _mm_unpacklo_epi16(a[4 * h + 1], a[4 * h + 3]);
    c[4 * h + 3] = _mm_unpackhi_epi16(a[4 * h + 1], a[4 * h + 3]);
  }
  for (int p = 0; p < 4; ++p) {
    q[2 * p] = _mm_unpacklo_epi32(c[p], c[p + 4]);
    q[2 * p + 1] = _mm_unpackhi_epi32(c[p], c[p + 4]);
  }
}

// Unshuffles groups [from, ...) in steps of 16 and returns the first group left to do.
template <size_t ES>
size_t unshuffleSse2(const uint8_t* in, uint8_t* out, size_t n, size_t from) {
  const size_t groups = n / 8;
  size_t g = from;
  for (; g + 16 <= groups; g += 16) {
    __m128i q[ES][8];
    for (size_t j = 0; j < ES; ++j) unshufflePlanes(in + j * 8 * groups + g, groups, q[j]);
    __m128i* dst = reinterpret_cast<__m128i*>(out + 8 * g * ES);
    for (int m = 0; m < 8; ++m) {
      if constexpr (ES == 1) {
        _mm_storeu_si128(dst + m, q[0][m]);
      } else if constexpr (ES == 2) {
        _mm_storeu_si128(dst + 2 * m, _mm_unpacklo_epi8(q[0][m], q[1][m]));
        _mm_storeu_si128(dst + 2 * m + 1, _mm_unpackhi_epi8(q[0][m], q[1][m]));
      } else {
        const __m128i lo01 = _mm_unpacklo_epi8(q[0][m], q[1][m]), hi01 = _mm_unpackhi_epi8(q[0][m], q[1][m]);
        const __m128i lo23 = _mm_unpacklo_epi8(q[2][m], q[3][m]), hi23 = _mm_unpackhi_epi8(q[2][m], q[3][m]);
        _mm_storeu_si128(dst + 4 * m, _mm_unpacklo_epi16(lo01, lo23));
        _mm_storeu_si128(dst + 4 * m + 1, _mm_unpackhi_epi16(lo01, lo23));
        _mm_storeu_si128(dst + 4 * m + 2, _mm_unpacklo_epi16(hi01, hi23));
        _mm_storeu_si128(dst + 4 * m + 3, _mm_unpackhi_epi16(hi01, hi23));
      }
    }
  }
  return g;
}

// ---- AVX2: the same methods 32 elements (shuffle) or 256 elements (unshuffle) at a time. ----
// AVX2 packs and unpacks work within each 128-bit half, so results are put back in element order
// with cross-lane permutes.

SX_AVX2 inline void storePlanes256(__m256i v, uint8_t* planes, size_t groups) {
  for (size_t k = 8; k-- > 0;) {
    const uint32_t bits = static_cast<uint32_t>(_mm256_movemask_epi8(v));
    std::memcpy(planes + k * groups, &bits, 4);  // little-endian: elements 0-7, ..., 24-31
    v = _mm256_add_epi8(v, v);
  }
}

template <size_t ES>
SX_AVX2 size_t shuffleAvx2(const uint8_t* in, uint8_t* out, size_t n) {
  const size_t groups = n / 8;
  const __m256i lowByte = _mm256_set1_epi16(0x00FF);
  const __m256i lowByte32 = _mm256_set1_epi32(0xFF);
  const __m256i dwordOrder = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  size_t e = 0;
  for (; e + 32 <= n; e += 32) {
    const __m256i* src = reinterpret_cast<const __m256i*>(in + e * ES);
    uint8_t* planes = out + e / 8;
    if constexpr (ES == 1) {
      storePlanes256(_mm256_loadu_si256(src), planes, groups);
    } else if constexpr (ES == 2) {
      const __m256i a = _mm256_loadu_si256(src);
      const __m256i b = _mm256_loadu_si256(src + 1);
      // Per lane the packs give elements (0-7, 16-23 | 8-15, 24-31); 0xD8 orders the quarters.
      const __m256i lo = _mm256_packus_epi16(_mm256_and_si256(a, lowByte), _mm256_and_si256(b, lowByte));
      const __m256i hi = _mm256_packus_epi16(_mm256_srli_epi16(a, 8), _mm256_srli_epi16(b, 8));
      storePlanes256(_mm256_permute4x64_epi64(lo, 0xD8), planes, groups);
      storePlanes256(_mm256_permute4x64_epi64(hi, 0xD8), planes + 8 * groups, groups);
    } else {
      __m256i v[4];
      for (int q = 0; q < 4; ++q) v[q] = _mm256_loadu_si256(src + q);
      for (size_t j = 0; j < 4; ++j) {
        __m256i w[4];
        for (int q = 0; q < 4; ++q) w[q] = _mm256_and_si256(v[q], lowByte32);
        // Dwords hold elements 0-3, 8-11, 16-19, 24-27, 4-7, 12-15, 20-23, 28-31.
        const __m256i packed = _mm256_packus_epi16(_mm256_packs_epi32(w[0], w[1]), _mm256_packs_epi32(w[2], w[3]));
        storePlanes256(_mm256_permutevar8x32_epi32(packed, dwordOrder), planes + j * 8 * groups, groups);
        for (int q = 0; q < 4; ++q) v[q] = _mm256_srli_epi32(v[q], 8);
      }
    }
  }
  return e;
}

template <int S>
SX_AVX2 inline void swapBits256(__m256i& a, __m256i& b, __m256i mask) {
  const __m256i t = _mm256_and_si256(_mm256_xor_si256(_mm256_srli_epi16(a, S), b), mask);
  b = _mm256_xor_si256(b, t);
  a = _mm256_xor_si256(a, _mm256_slli_epi16(t, S));
}

// As unshufflePlanes for 32 groups: q[m] = that byte of elements (16m .. 16m + 15 | 128 + 16m ..).
SX_AVX2 inline void unshufflePlanes256(const uint8_t* planes, size_t stride, __m256i q[8]) {
  __m256i r[8];
  for (size_t k = 0; k < 8; ++k) r[k] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(planes + k * stride));
  const __m256i m4 = _mm256_set1_epi8(0x0F), m2 = _mm256_set1_epi8(0x33), m1 = _mm256_set1_epi8(0x55);
  for (int k = 0; k < 4; ++k) swapBits256<4>(r[k], r[k + 4], m4);
  for (int k : {0, 1, 4, 5}) swapBits256<2>(r[k], r[k + 2], m2);
  for (int k : {0, 2, 4, 6}) swapBits256<1>(r[k], r[k + 1], m1);
  __m256i a[8], c[8];
  for (int p = 0; p < 4; ++p) {
    a[2 * p] = _mm256_unpacklo_epi8(r[2 * p], r[2 * p + 1]);
    a[2 * p + 1] = _mm256_unpackhi_epi8(r[2 * p], r[2 * p + 1]);
  }
  for (int h = 0; h < 2; ++h) {
    c[4 * h + 0] = _mm256_unpacklo_epi16(a[4 * h + 0], a[4 * h + 2]);
    c[4 * h + 1] = _mm256_unpackhi_epi16(a[4 * h + 0], a[4 * h + 2]);
    c[4 * h + 2] = _mm256_unpacklo_epi16(a[4 * h + 1], a[4 * h + 3]);
    c[4 * h + 3] = _mm256_unpackhi_epi16(a[4 * h + 1], a[4 * h + 3]);
  }
  for (int p = 0; p < 4; ++p) {
    q[2 * p] = _mm256_unpacklo_epi32(c[p], c[p + 4]);
    q[2 * p + 1] = _mm256_unpackhi_epi32(c[p], c[p + 4]);
  }
}

SX_AVX2 inline void store256(uint8_t* dst, __m256i v) {
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst), v);
}

template <size_t ES>
SX_AVX2 size_t unshuffleAvx2(const uint8_t* in, uint8_t* out, size_t n) {
  const size_t groups = n / 8;
  size_t g = 0;
  for (; g + 32 <= groups; g += 32) {
    __m256i q[ES][8];
    for (size_t j = 0; j < ES; ++j) unshufflePlanes256(in + j * 8 * groups + g, groups, q[j]);
    uint8_t* dst = out + 8 * g * ES;  // lane 1 of every q[j][m] belongs 128 elements further on
    constexpr size_t kHalf = 128 * ES;
    if constexpr (ES == 1) {
      for (int p = 0; p < 4; ++p) {
        store256(dst + 32 * p, _mm256_permute2x128_si256(q[0][2 * p], q[0][2 * p + 1], 0x20));
        store256(dst + kHalf + 32 * p, _mm256_permute2x128_si256(q[0][2 * p], q[0][2 * p + 1], 0x31));
      }
    } else if constexpr (ES == 2) {
      for (int m = 0; m < 8; ++m) {
        const __m256i lo = _mm256_unpacklo_epi8(q[0][m], q[1][m]), hi = _mm256_unpackhi_epi8(q[0][m], q[1][m]);
        store256(dst + 32 * m, _mm256_permute2x128_si256(lo, hi, 0x20));
        store256(dst + kHalf + 32 * m, _mm256_permute2x128_si256(lo, hi, 0x31));
      }
    } else {
      for (int m = 0; m < 8; ++m) {
        const __m256i lo01 = _mm256_unpacklo_epi8(q[0][m], q[1][m]), hi01 = _mm256_unpackhi_epi8(q[0][m], q[1][m]);
        const __m256i lo23 = _mm256_unpacklo_epi8(q[2][m], q[3][m]), hi23 = _mm256_unpackhi_epi8(q[2][m], q[3][m]);
        const __m256i e0 = _mm256_unpacklo_epi16(lo01, lo23), e1 = _mm256_unpackhi_epi16(lo01, lo23);
        const __m256i e2 = _mm256_unpacklo_epi16(hi01, hi23), e3 = _mm256_unpackhi_epi16(hi01, hi23);
        store256(dst + 64 * m, _mm256_permute2x128_si256(e0, e1, 0x20));
        store256(dst + 64 * m + 32, _mm256_permute2x128_si256(e2, e3, 0x20));
        store256(dst + kHalf + 64 * m, _mm256_permute2x128_si256(e0, e1, 0x31));
        store256(dst + kHalf + 64 * m + 32, _mm256_permute2x128_si256(e2, e3, 0x31));
      }
    }
  }
  return g;
}

}  // namespace sx::bitshuffle_x86
#endif  // SX_BITSHUFFLE_X86
