#include "bitshuffle.hpp"

#include <lz4.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <string>

#include "bitshuffle-x86.hpp"

namespace sx {
namespace {

// ---- Scalar: one group of 8 elements at a time; the reference the SIMD paths must match. ----

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

// Groups [fromGroup, n / 8) of a block: all of it on the scalar path, the tail on the others.
template <size_t ES>
void shuffleScalar(const uint8_t* in, uint8_t* out, size_t n, size_t elemSize, size_t fromGroup) {
  const size_t groups = n / 8;
  for (size_t j = 0; j < (ES != 0 ? ES : elemSize); ++j) {
    for (size_t g = fromGroup; g < groups; ++g) shuffleGroup<ES>(in, out, g, groups, j, elemSize);
  }
}

template <size_t ES>
void unshuffleScalar(const uint8_t* in, uint8_t* out, size_t n, size_t elemSize, size_t fromGroup) {
  const size_t groups = n / 8;
  for (size_t g = fromGroup; g < groups; ++g) {
    for (size_t j = 0; j < (ES != 0 ? ES : elemSize); ++j) {
      unshuffleGroup<ES>(in, out, g, groups, j, elemSize);
    }
  }
}

#if SX_BITSHUFFLE_X86
using namespace bitshuffle_x86;
#endif

// ---- Choosing a path ----

BitshuffleIsa detectBestIsa() {
#if SX_BITSHUFFLE_X86
  __builtin_cpu_init();  // needed when this runs from a static initialiser
  return __builtin_cpu_supports("avx2") ? BitshuffleIsa::kAvx2 : BitshuffleIsa::kSse2;
#else
  return BitshuffleIsa::kScalar;
#endif
}

BitshuffleIsa bestIsa() {
  static const BitshuffleIsa best = detectBestIsa();
  return best;
}

// Read once per block: relaxed is enough, since every path writes the same bytes.
std::atomic<BitshuffleIsa>& activeIsa() {
  static std::atomic<BitshuffleIsa> isa{bestIsa()};
  return isa;
}

template <size_t ES>
void shuffleBlock(const uint8_t* in, uint8_t* out, size_t n, size_t elemSize, [[maybe_unused]] BitshuffleIsa isa) {
  size_t done = 0;  // elements
#if SX_BITSHUFFLE_X86
  if constexpr (ES == 1 || ES == 2 || ES == 4) {
    if (isa == BitshuffleIsa::kAvx2) done = shuffleAvx2<ES>(in, out, n);
    if (isa != BitshuffleIsa::kScalar) done = shuffleSse2<ES>(in, out, n, done);
  }
#endif
  shuffleScalar<ES>(in, out, n, elemSize, done / 8);
}

template <size_t ES>
void unshuffleBlock(const uint8_t* in, uint8_t* out, size_t n, size_t elemSize, [[maybe_unused]] BitshuffleIsa isa) {
  size_t done = 0;  // groups
#if SX_BITSHUFFLE_X86
  if constexpr (ES == 1 || ES == 2 || ES == 4) {
    if (isa == BitshuffleIsa::kAvx2) done = unshuffleAvx2<ES>(in, out, n);
    if (isa != BitshuffleIsa::kScalar) done = unshuffleSse2<ES>(in, out, n, done);
  }
#endif
  unshuffleScalar<ES>(in, out, n, elemSize, done);
}

// ---- The chunk format ----

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

// One block of scratch per thread, kept between chunks: decoding a frame of thousands of blocks
// then allocates (and zero-fills) nothing, and the block stays in L1 between LZ4 and the
// transpose. Blocks larger than this (unusual block sizes) get a buffer per call instead, so a
// thread does not pin megabytes.
constexpr size_t kKeptScratchBytes = 1 << 20;

uint8_t* blockScratch(size_t bytes, std::unique_ptr<uint8_t[]>& oneOff) {
  thread_local std::unique_ptr<uint8_t[]> kept;
  thread_local size_t keptBytes = 0;
  if (bytes > kKeptScratchBytes) {
    oneOff.reset(new uint8_t[bytes]);
    return oneOff.get();
  }
  if (bytes > keptBytes) {
    kept.reset(new uint8_t[bytes]);
    keptBytes = bytes;
  }
  return kept.get();
}

}  // namespace

const char* bitshuffleIsaName(BitshuffleIsa isa) {
  switch (isa) {
    case BitshuffleIsa::kAuto: return "auto";
    case BitshuffleIsa::kScalar: return "scalar";
    case BitshuffleIsa::kSse2: return "sse2";
    case BitshuffleIsa::kAvx2: return "avx2";
  }
  return "?";
}

bool bitshuffleIsaAvailable(BitshuffleIsa isa) {
  // The enumerators are in increasing order of what they need from the CPU.
  return isa == BitshuffleIsa::kAuto || static_cast<int>(isa) <= static_cast<int>(bestIsa());
}

BitshuffleIsa setBitshuffleIsa(BitshuffleIsa isa) {
  if (!bitshuffleIsaAvailable(isa)) {
    throw CodecError(std::string("this CPU or build has no ") + bitshuffleIsaName(isa) +
                     " bitshuffle path (the best here is " + bitshuffleIsaName(bestIsa()) + ")");
  }
  const BitshuffleIsa chosen = isa == BitshuffleIsa::kAuto ? bestIsa() : isa;
  activeIsa().store(chosen, std::memory_order_relaxed);
  return chosen;
}

BitshuffleIsa bitshuffleIsa() { return activeIsa().load(std::memory_order_relaxed); }

size_t bitshuffleDefaultBlockSize(size_t elemSize) {
  const size_t size = kBitshuffleTargetBlockBytes / elemSize / kBitshuffleGroup * kBitshuffleGroup;
  return std::max(size, kBitshuffleMinBlock);
}

void bitshuffleBlock(const uint8_t* in, uint8_t* out, size_t n, size_t elemSize) {
  const BitshuffleIsa isa = bitshuffleIsa();
  switch (elemSize) {
    case 1: return shuffleBlock<1>(in, out, n, 1, isa);
    case 2: return shuffleBlock<2>(in, out, n, 2, isa);
    case 4: return shuffleBlock<4>(in, out, n, 4, isa);
    case 8: return shuffleBlock<8>(in, out, n, 8, isa);
    default: return shuffleBlock<0>(in, out, n, elemSize, isa);
  }
}

void bitunshuffleBlock(const uint8_t* in, uint8_t* out, size_t n, size_t elemSize) {
  const BitshuffleIsa isa = bitshuffleIsa();
  switch (elemSize) {
    case 1: return unshuffleBlock<1>(in, out, n, 1, isa);
    case 2: return unshuffleBlock<2>(in, out, n, 2, isa);
    case 4: return unshuffleBlock<4>(in, out, n, 4, isa);
    case 8: return unshuffleBlock<8>(in, out, n, 8, isa);
    default: return unshuffleBlock<0>(in, out, n, elemSize, isa);
  }
}

void bitshuffleBuffer(const uint8_t* in, uint8_t* out, size_t nElems, size_t elemSize,
                      size_t blockSize, bool inverse) {
  blockSize = resolveBlockSize(elemSize, blockSize);
  const auto transpose = inverse ? bitunshuffleBlock : bitshuffleBlock;
  const size_t blockBytes = blockSize * elemSize;
  size_t done = 0;
  if (!inverse && blockBytes <= kKeptScratchBytes && nElems >= blockSize) {
    // Shuffling writes 8 * elemSize planes at once, which outruns the CPU's store misses when
    // `out` is not in cache (measured 3 GB/s on an Eiger 4M frame); shuffling into the cached
    // scratch and copying the block out sequentially runs at twice that.
    std::unique_ptr<uint8_t[]> unused;
    uint8_t* shuffled = blockScratch(blockBytes, unused);
    for (; done + blockSize <= nElems; done += blockSize) {
      bitshuffleBlock(in + done * elemSize, shuffled, blockSize, elemSize);
      std::memcpy(out + done * elemSize, shuffled, blockBytes);
    }
  }
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
  std::unique_ptr<uint8_t[]> oneOff;
  uint8_t* shuffled = blockScratch(std::min(blockBytes, nElems * elemSize), oneOff);
  size_t done = 0;
  while (nElems - done >= kBitshuffleGroup) {
    const size_t n = std::min(blockSize, (nElems - done) / kBitshuffleGroup * kBitshuffleGroup);
    bitshuffleBlock(in + done * elemSize, shuffled, n, elemSize);
    const int written =
        LZ4_compress_default(reinterpret_cast<const char*>(shuffled),
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
                         size_t elemSize, const GroupMaxima* maxima) {
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
  // LZ4 decodes each block into the scratch and the transpose writes it straight to `out`: the
  // format allows no fewer passes, since a block must be whole before it can be unshuffled.
  std::unique_ptr<uint8_t[]> oneOff;
  uint8_t* shuffled = blockScratch(std::min(blockBytes, outBytes), oneOff);
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
                                        reinterpret_cast<char*>(shuffled),
                                        static_cast<int>(length), static_cast<int>(n * elemSize));
    if (got != static_cast<int>(n * elemSize)) {
      throw CodecError("corrupt LZ4 data in the block at byte " + std::to_string(pos - 4));
    }
    bitunshuffleBlock(shuffled, out + done * elemSize, n, elemSize);
    if (maxima != nullptr) foldGroupMaxima(reinterpret_cast<const uint16_t*>(out), done, n, *maxima);
    pos += static_cast<size_t>(length);
    done += n;
  }
  const size_t leftover = (nElems - done) * elemSize;
  if (inBytes - pos != leftover) {
    throw CodecError("expected " + std::to_string(leftover) + " trailing bytes after the blocks but found " +
                     std::to_string(inBytes - pos));
  }
  if (leftover > 0) std::memcpy(out + done * elemSize, in + pos, leftover);
  if (maxima != nullptr) foldGroupMaxima(reinterpret_cast<const uint16_t*>(out), done, nElems - done, *maxima);
}

}  // namespace sx
