#include "bitshuffle.hpp"

#include <lz4.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace sx {
namespace {

// Transposes the 8x8 bit matrix whose row r is byte r of x (bit c of row r = bit 8r + c): three
// rounds of swapping the off-diagonal halves of 2x2, 4x4 and 8x8 sub-blocks.
inline uint64_t transpose8x8(uint64_t x) {
  uint64_t t = (x ^ (x >> 7)) & 0x00AA00AA00AA00AAULL;
  x ^= t ^ (t << 7);
  t = (x ^ (x >> 14)) & 0x0000CCCC0000CCCCULL;
  x ^= t ^ (t << 14);
  t = (x ^ (x >> 28)) & 0x00000000F0F0F0F0ULL;
  x ^= t ^ (t << 28);
  return x;
}

// Elements [8g, 8g + 8) of the block, byte j of each, to the 8 planes of byte j. ES is the
// element size when known at compile time (0 = use elemSize).
template <size_t ES>
inline void shuffleGroup(const uint8_t* in, uint8_t* out, size_t g, size_t groups, size_t j,
                         size_t elemSize) {
  const size_t es = ES != 0 ? ES : elemSize;
  const uint8_t* src = in + 8 * g * es + j;
  uint64_t x = 0;
  for (size_t i = 0; i < 8; ++i) x |= static_cast<uint64_t>(src[i * es]) << (8 * i);
  x = transpose8x8(x);
  uint8_t* planes = out + j * 8 * groups + g;
  for (size_t k = 0; k < 8; ++k) planes[k * groups] = static_cast<uint8_t>(x >> (8 * k));
}

template <size_t ES>
inline void unshuffleGroup(const uint8_t* in, uint8_t* out, size_t g, size_t groups, size_t j,
                           size_t elemSize) {
  const size_t es = ES != 0 ? ES : elemSize;
  const uint8_t* planes = in + j * 8 * groups + g;
  uint64_t x = 0;
  for (size_t k = 0; k < 8; ++k) x |= static_cast<uint64_t>(planes[k * groups]) << (8 * k);
  x = transpose8x8(x);
  uint8_t* dst = out + 8 * g * es + j;
  for (size_t i = 0; i < 8; ++i) dst[i * es] = static_cast<uint8_t>(x >> (8 * i));
}

#if defined(__SSE2__)
// 16 elements at a time: collect byte j of each into one vector, then movemask reads bit 7 of
// all 16 bytes at once (element i -> bit i, as the planes want); doubling moves the next bit up.
inline void storePlanes(__m128i v, uint8_t* planes, size_t groups) {
  for (size_t k = 8; k-- > 0;) {
    const uint16_t bits = static_cast<uint16_t>(_mm_movemask_epi8(v));
    std::memcpy(planes + k * groups, &bits, 2);  // little-endian: elements 0-7, then 8-15
    v = _mm_add_epi8(v, v);
  }
}

template <size_t ES>
size_t shuffleSse2(const uint8_t* in, uint8_t* out, size_t n) {
  static_assert(ES == 2 || ES == 4, "SSE2 path for 2- and 4-byte elements");
  const size_t groups = n / 8;
  const size_t n16 = n / 16 * 16;
  const __m128i lowByte = _mm_set1_epi16(0x00FF);
  const __m128i lowByte32 = _mm_set1_epi32(0xFF);
  for (size_t e = 0; e < n16; e += 16) {
    const __m128i* src = reinterpret_cast<const __m128i*>(in + e * ES);
    uint8_t* planes = out + e / 8;
    if constexpr (ES == 2) {
      const __m128i a = _mm_loadu_si128(src);
      const __m128i b = _mm_loadu_si128(src + 1);
      storePlanes(_mm_packus_epi16(_mm_and_si128(a, lowByte), _mm_and_si128(b, lowByte)), planes,
                  groups);
      storePlanes(_mm_packus_epi16(_mm_srli_epi16(a, 8), _mm_srli_epi16(b, 8)),
                  planes + 8 * groups, groups);
    } else {
      __m128i v[4];
      for (int q = 0; q < 4; ++q) v[q] = _mm_loadu_si128(src + q);
      for (int j = 0; j < 4; ++j) {
        __m128i w[4];
        for (int q = 0; q < 4; ++q) w[q] = _mm_and_si128(v[q], lowByte32);
        storePlanes(_mm_packus_epi16(_mm_packs_epi32(w[0], w[1]), _mm_packs_epi32(w[2], w[3])),
                    planes + j * 8 * groups, groups);
        for (int q = 0; q < 4; ++q) v[q] = _mm_srli_epi32(v[q], 8);
      }
    }
  }
  return n16;
}
#endif

template <size_t ES>
void shuffleBlock(const uint8_t* in, uint8_t* out, size_t n, size_t elemSize) {
  const size_t groups = n / 8;
  size_t done = 0;
#if defined(__SSE2__)
  if constexpr (ES == 2 || ES == 4) done = shuffleSse2<ES>(in, out, n);
#endif
  for (size_t j = 0; j < (ES != 0 ? ES : elemSize); ++j) {
    for (size_t g = done / 8; g < groups; ++g) shuffleGroup<ES>(in, out, g, groups, j, elemSize);
  }
}

template <size_t ES>
void unshuffleBlock(const uint8_t* in, uint8_t* out, size_t n, size_t elemSize) {
  const size_t groups = n / 8;
  for (size_t g = 0; g < groups; ++g) {
    for (size_t j = 0; j < (ES != 0 ? ES : elemSize); ++j) {
      unshuffleGroup<ES>(in, out, g, groups, j, elemSize);
    }
  }
}

void writeBE(uint8_t* p, uint64_t value, size_t bytes) {
  for (size_t i = 0; i < bytes; ++i) p[i] = static_cast<uint8_t>(value >> (8 * (bytes - 1 - i)));
}

uint64_t readBE(const uint8_t* p, size_t bytes) {
  uint64_t value = 0;
  for (size_t i = 0; i < bytes; ++i) value = (value << 8) | p[i];
  return value;
}

size_t resolveBlockSize(size_t elemSize, size_t blockSize) {
  return blockSize == 0 ? bitshuffleDefaultBlockSize(elemSize) : blockSize;
}

}  // namespace

size_t bitshuffleDefaultBlockSize(size_t elemSize) {
  const size_t size = kBitshuffleTargetBlockBytes / elemSize / kBitshuffleGroup * kBitshuffleGroup;
  return std::max(size, kBitshuffleMinBlock);
}

void bitshuffleBlock(const uint8_t* in, uint8_t* out, size_t n, size_t elemSize) {
  switch (elemSize) {
    case 1: return shuffleBlock<1>(in, out, n, 1);
    case 2: return shuffleBlock<2>(in, out, n, 2);
    case 4: return shuffleBlock<4>(in, out, n, 4);
    case 8: return shuffleBlock<8>(in, out, n, 8);
    default: return shuffleBlock<0>(in, out, n, elemSize);
  }
}

void bitunshuffleBlock(const uint8_t* in, uint8_t* out, size_t n, size_t elemSize) {
  switch (elemSize) {
    case 1: return unshuffleBlock<1>(in, out, n, 1);
    case 2: return unshuffleBlock<2>(in, out, n, 2);
    case 4: return unshuffleBlock<4>(in, out, n, 4);
    case 8: return unshuffleBlock<8>(in, out, n, 8);
    default: return unshuffleBlock<0>(in, out, n, elemSize);
  }
}

void bitshuffleBuffer(const uint8_t* in, uint8_t* out, size_t nElems, size_t elemSize,
                      size_t blockSize, bool inverse) {
  blockSize = resolveBlockSize(elemSize, blockSize);
  const auto transpose = inverse ? bitunshuffleBlock : bitshuffleBlock;
  size_t done = 0;
  for (; done + blockSize <= nElems; done += blockSize) {
    transpose(in + done * elemSize, out + done * elemSize, blockSize, elemSize);
  }
  const size_t last = (nElems - done) / kBitshuffleGroup * kBitshuffleGroup;
  if (last > 0) transpose(in + done * elemSize, out + done * elemSize, last, elemSize);
  done += last;
  // memcpy wants valid pointers even for 0 bytes, and an empty typed array may have none.
  if (nElems > done) std::memcpy(out + done * elemSize, in + done * elemSize, (nElems - done) * elemSize);
}

size_t bitshuffleLz4Bound(size_t nElems, size_t elemSize, size_t blockSize) {
  blockSize = resolveBlockSize(elemSize, blockSize);
  const size_t full = nElems / blockSize;
  const size_t last = nElems % blockSize / kBitshuffleGroup * kBitshuffleGroup;
  size_t bound = kBitshuffleLz4HeaderBytes +
                 full * (4 + static_cast<size_t>(LZ4_compressBound(blockSize * elemSize)));
  if (last > 0) bound += 4 + static_cast<size_t>(LZ4_compressBound(last * elemSize));
  return bound + nElems % kBitshuffleGroup * elemSize;
}

size_t bitshuffleLz4Encode(const uint8_t* in, size_t nElems, size_t elemSize, size_t blockSize,
                           uint8_t* out, size_t outCapacity) {
  blockSize = resolveBlockSize(elemSize, blockSize);
  const size_t blockBytes = blockSize * elemSize;
  if (blockSize % kBitshuffleGroup != 0 || blockBytes > LZ4_MAX_INPUT_SIZE) {
    throw CodecError("block size " + std::to_string(blockSize) + " is not a multiple of 8 that LZ4 can take");
  }
  if (outCapacity < bitshuffleLz4Bound(nElems, elemSize, blockSize)) {
    throw CodecError("output buffer smaller than the bound");
  }
  writeBE(out, static_cast<uint64_t>(nElems) * elemSize, 8);
  writeBE(out + 8, blockBytes, 4);
  size_t pos = kBitshuffleLz4HeaderBytes;
  std::vector<uint8_t> shuffled(blockBytes);
  size_t done = 0;
  while (nElems - done >= kBitshuffleGroup) {
    const size_t n = std::min(blockSize, (nElems - done) / kBitshuffleGroup * kBitshuffleGroup);
    bitshuffleBlock(in + done * elemSize, shuffled.data(), n, elemSize);
    const int written =
        LZ4_compress_default(reinterpret_cast<const char*>(shuffled.data()),
                             reinterpret_cast<char*>(out + pos + 4), static_cast<int>(n * elemSize),
                             static_cast<int>(std::min<size_t>(outCapacity - pos - 4, INT32_MAX)));
    if (written <= 0) throw CodecError("LZ4 compression failed");
    writeBE(out + pos, static_cast<uint64_t>(written), 4);
    pos += 4 + static_cast<size_t>(written);
    done += n;
  }
  const size_t leftover = (nElems - done) * elemSize;
  if (leftover > 0) std::memcpy(out + pos, in + done * elemSize, leftover);
  return pos + leftover;
}

uint64_t bitshuffleLz4DecodedBytes(const uint8_t* in, size_t inBytes) {
  if (inBytes < kBitshuffleLz4HeaderBytes) {
    throw CodecError("chunk of " + std::to_string(inBytes) + " bytes is shorter than its 12-byte header");
  }
  return readBE(in, 8);
}

void bitshuffleLz4Decode(const uint8_t* in, size_t inBytes, uint8_t* out, size_t outBytes,
                         size_t elemSize) {
  const uint64_t declared = bitshuffleLz4DecodedBytes(in, inBytes);
  if (declared != outBytes) {
    throw CodecError("chunk declares " + std::to_string(declared) + " bytes but " +
                     std::to_string(outBytes) + " were expected");
  }
  if (outBytes % elemSize != 0) {
    throw CodecError(std::to_string(outBytes) + " bytes are not a whole number of " +
                     std::to_string(elemSize) + "-byte elements");
  }
  const size_t blockBytes = static_cast<size_t>(readBE(in + 8, 4));
  const size_t blockSize = blockBytes / elemSize;
  if (blockBytes == 0 || blockBytes % elemSize != 0 || blockSize % kBitshuffleGroup != 0 ||
      blockBytes > LZ4_MAX_INPUT_SIZE) {
    throw CodecError("invalid block size of " + std::to_string(blockBytes) + " bytes");
  }
  const size_t nElems = outBytes / elemSize;
  std::vector<uint8_t> shuffled(std::min(blockBytes, outBytes));
  size_t pos = kBitshuffleLz4HeaderBytes;
  size_t done = 0;
  while (nElems - done >= kBitshuffleGroup) {
    const size_t n = std::min(blockSize, (nElems - done) / kBitshuffleGroup * kBitshuffleGroup);
    if (inBytes - pos < 4) throw CodecError("chunk ends inside the block starting at byte " + std::to_string(pos));
    const uint64_t length = readBE(in + pos, 4);
    pos += 4;
    if (length > inBytes - pos || length > INT32_MAX) {
      throw CodecError("block at byte " + std::to_string(pos - 4) + " claims " +
                       std::to_string(length) + " bytes but only " +
                       std::to_string(inBytes - pos) + " remain");
    }
    const int got = LZ4_decompress_safe(reinterpret_cast<const char*>(in + pos),
                                        reinterpret_cast<char*>(shuffled.data()),
                                        static_cast<int>(length), static_cast<int>(n * elemSize));
    if (got != static_cast<int>(n * elemSize)) {
      throw CodecError("corrupt LZ4 data in the block at byte " + std::to_string(pos - 4));
    }
    bitunshuffleBlock(shuffled.data(), out + done * elemSize, n, elemSize);
    pos += static_cast<size_t>(length);
    done += n;
  }
  const size_t leftover = (nElems - done) * elemSize;
  if (inBytes - pos != leftover) {
    throw CodecError("expected " + std::to_string(leftover) + " trailing bytes after the blocks but found " +
                     std::to_string(inBytes - pos));
  }
  if (leftover > 0) std::memcpy(out + done * elemSize, in + pos, leftover);
}

}  // namespace sx
