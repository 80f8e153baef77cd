// Bitshuffle (a bit transpose per block of elements) and the bitshuffle+LZ4 chunk format of the
// HDF5 filter 32008. Written from the format's description (see /work/shared/formats.md); plain
// C++ on raw pointers so it can be tested and reused without Node. The TypeScript reference of
// the transpose is codecs/bitshuffle-reference.ts.
//
// Within a block of n elements (n a multiple of 8) of elemSize bytes, the output holds
// elemSize * 8 bit planes of n / 8 bytes each, in the order (byte 0 bit 0), (byte 0 bit 1), ...,
// (byte 1 bit 0), ...; in a plane, bit i % 8 of byte i / 8 is that bit of element i.
//
// Element sizes 1, 2 and 4 have SSE2 and AVX2 paths, chosen once at run time from the CPU (the
// addon is built for baseline x86-64); other sizes and other architectures use the scalar path.
// Every path produces the same bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>

#include "group-maxima.hpp"

namespace sx {

// Blocks hold a multiple of this many elements; the last (size % 8) elements stay as they are.
constexpr size_t kBitshuffleGroup = 8;
// The automatic block size aims at this many bytes (the filter's default), at least 128 elements.
constexpr size_t kBitshuffleTargetBlockBytes = 8192;
constexpr size_t kBitshuffleMinBlock = 128;
// Chunk header: uncompressed bytes (8, big-endian) + block size in bytes (4, big-endian).
constexpr size_t kBitshuffleLz4HeaderBytes = 12;

// Corrupt or inconsistent input; the message says what was wrong.
struct CodecError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The code paths of the transpose, in increasing order of what they need from the CPU; kAuto =
// the best this CPU has (the default).
enum class BitshuffleIsa { kAuto, kScalar, kSse2, kAvx2 };

// "auto", "scalar", "sse2", "avx2".
const char* bitshuffleIsaName(BitshuffleIsa isa);
// Whether this CPU and build can run `isa` (kAuto always).
bool bitshuffleIsaAvailable(BitshuffleIsa isa);
// Forces a path for all threads, so tests and benchmarks can compare them, and returns the one
// now in use (kAuto resolves to the best). Throws CodecError for a path this CPU lacks.
BitshuffleIsa setBitshuffleIsa(BitshuffleIsa isa);
// The path in use (never kAuto).
BitshuffleIsa bitshuffleIsa();

// The filter's automatic block size in elements: 8192 bytes / elemSize, rounded down to a
// multiple of 8, at least 128.
size_t bitshuffleDefaultBlockSize(size_t elemSize);

// Transposes one block (n % 8 == 0) from elements to bit planes, and back.
void bitshuffleBlock(const uint8_t* in, uint8_t* out, size_t n, size_t elemSize);
void bitunshuffleBlock(const uint8_t* in, uint8_t* out, size_t n, size_t elemSize);

// A whole buffer of nElems elements as the filter lays it out: full blocks, then one block of
// the remaining elements rounded down to a multiple of 8, then the last nElems % 8 elements
// copied unchanged. blockSize 0 = automatic. `inverse` undoes it.
void bitshuffleBuffer(const uint8_t* in, uint8_t* out, size_t nElems, size_t elemSize,
                      size_t blockSize, bool inverse);

// Largest chunk bitshuffleLz4Encode can produce.
size_t bitshuffleLz4Bound(size_t nElems, size_t elemSize, size_t blockSize);

// Encodes nElems elements into `out` (capacity >= bitshuffleLz4Bound) and returns the chunk's
// length in bytes.
size_t bitshuffleLz4Encode(const uint8_t* in, size_t nElems, size_t elemSize, size_t blockSize,
                           uint8_t* out, size_t outCapacity);

// Decodes a chunk that must hold exactly outBytes bytes of elemSize-byte elements; throws
// CodecError on anything inconsistent and never reads or writes out of bounds. With `maxima`
// (elemSize 2, out a uint16 frame, maxima->values zeroed), each block's group maxima are folded
// in as it is decoded.
void bitshuffleLz4Decode(const uint8_t* in, size_t inBytes, uint8_t* out, size_t outBytes,
                         size_t elemSize, const GroupMaxima* maxima = nullptr);

// The uncompressed size a chunk declares (its first 8 bytes); throws CodecError if too short.
uint64_t bitshuffleLz4DecodedBytes(const uint8_t* in, size_t inBytes);

}  // namespace sx
