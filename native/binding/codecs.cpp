// The lossless codecs: bitshuffle(+LZ4) from native/kernels/bitshuffle.*, and thin wrappers of
// the system's zstd and c-blosc. Arguments are validated by codecs/*.ts first; every function
// here still checks sizes so corrupt input can only raise an Error, never read out of bounds.
//   bitshuffle(input, elemSize, blockSize, inverse, out) -> undefined
//   bitshuffleLz4Encode(input, elemSize, blockSize) -> Uint8Array
//   bitshuffleLz4Decode(input, elemSize, out) -> undefined (out: exactly the decoded size)
//   setBitshuffleIsa('auto' | 'scalar' | 'sse2' | 'avx2') -> the transpose's path now in use
//   zstdCompress(input, level) -> Uint8Array
//   zstdDecompress(input, out | null) -> Uint8Array (a view of out when given)
//   bloscCompress(input, cname, clevel, shuffle, typesize, blocksize) -> Uint8Array
//   bloscDecompress(input, out | null) -> Uint8Array (a view of out when given)
// Compressed results are produced in a per-thread scratch buffer and copied out at their exact
// size, so a chunk never pins a worst-case-sized ArrayBuffer.
#include "../kernels/bitshuffle.hpp"
#include "convert.hpp"

#include <blosc.h>
#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <vector>

namespace sx {
namespace {

ArrayView<uint8_t> toBytes(const Napi::Value& value, const char* what) {
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    throw Napi::TypeError::New(value.Env(), std::string("Expected ") + what + " to be a Uint8Array");
  }
  auto array = value.As<Napi::Uint8Array>();
  return {array.Data(), array.ElementLength()};
}

uint8_t* scratch(size_t bytes) {
  thread_local std::unique_ptr<uint8_t[]> buffer;
  thread_local size_t capacity = 0;
  if (bytes > capacity) {
    buffer.reset(new uint8_t[bytes]);
    capacity = bytes;
  }
  return buffer.get();
}

Napi::Uint8Array copyOut(Napi::Env env, const uint8_t* data, size_t bytes) {
  auto result = Napi::Uint8Array::New(env, bytes);
  if (bytes > 0) std::memcpy(result.Data(), data, bytes);
  return result;
}

Napi::Uint8Array viewOf(Napi::Env env, const Napi::Value& out, size_t bytes) {
  auto array = out.As<Napi::Uint8Array>();
  return Napi::Uint8Array::New(env, bytes, array.ArrayBuffer(), array.ByteOffset());
}

void expectArgs(const Napi::CallbackInfo& info, size_t n, const char* name) {
  if (info.Length() != n) {
    throw Napi::TypeError::New(info.Env(), "Expected " + std::to_string(n) + " arguments for " + name);
  }
}

// Element sizes and blocks as the codecs allow: 1..255 bytes, blocks a multiple of 8 (0 = auto).
void checkShuffleArgs(Napi::Env env, size_t bytes, uint32_t elemSize, uint32_t blockSize) {
  if (bytes % elemSize != 0) {
    throw Napi::RangeError::New(env, "Expected input of whole " + std::to_string(elemSize) + "-byte elements");
  }
  if (blockSize % kBitshuffleGroup != 0) {
    throw Napi::RangeError::New(env, "Expected blockSize to be a multiple of 8");
  }
}

}  // namespace

Napi::Value Bitshuffle(const Napi::CallbackInfo& info) {
  expectArgs(info, 5, "bitshuffle");
  const Napi::Env env = info.Env();
  const ArrayView<uint8_t> input = toBytes(info[0], "input");
  const uint32_t elemSize = toUint32(info[1], "elemSize", 1, 255);
  const uint32_t blockSize = toUint32(info[2], "blockSize", 0, 1u << 24);
  checkShuffleArgs(env, input.length, elemSize, blockSize);
  const bool inverse = info[3].ToBoolean().Value();
  const ArrayView<uint8_t> out = toArrayView<uint8_t>(info[4], "out", input.length);
  bitshuffleBuffer(input.data, out.data, input.length / elemSize, elemSize, blockSize, inverse);
  return env.Undefined();
}

Napi::Value BitshuffleLz4Encode(const Napi::CallbackInfo& info) {
  expectArgs(info, 3, "bitshuffleLz4Encode");
  const Napi::Env env = info.Env();
  const ArrayView<uint8_t> input = toBytes(info[0], "input");
  const uint32_t elemSize = toUint32(info[1], "elemSize", 1, 255);
  const uint32_t blockSize = toUint32(info[2], "blockSize", 0, 1u << 24);
  checkShuffleArgs(env, input.length, elemSize, blockSize);
  const size_t nElems = input.length / elemSize;
  const size_t bound = bitshuffleLz4Bound(nElems, elemSize, blockSize);
  uint8_t* buffer = scratch(bound);
  try {
    const size_t n = bitshuffleLz4Encode(input.data, nElems, elemSize, blockSize, buffer, bound);
    return copyOut(env, buffer, n);
  } catch (const CodecError& err) {
    throw Napi::Error::New(env, err.what());
  }
}

// bitshuffleLz4Decode(input, elemSize, out[, maxima, group, cap]): with maxima (a Uint16Array of
// ceil(pixels / group), overwritten), a uint16 frame's group maxima are taken as it is decoded.
Napi::Value BitshuffleLz4Decode(const Napi::CallbackInfo& info) {
  if (info.Length() != 3 && info.Length() != 6) {
    throw Napi::TypeError::New(info.Env(), "Expected 3 or 6 arguments for bitshuffleLz4Decode");
  }
  const Napi::Env env = info.Env();
  const ArrayView<uint8_t> input = toBytes(info[0], "input");
  const uint32_t elemSize = toUint32(info[1], "elemSize", 1, 255);
  const ArrayView<uint8_t> out = toBytes(info[2], "out");
  GroupMaxima maxima{};
  if (info.Length() == 6) {
    if (elemSize != 2) throw Napi::RangeError::New(env, "Expected elemSize 2 for group maxima");
    maxima.group = toUint32(info[4], "group", 1, std::numeric_limits<uint32_t>::max());
    maxima.cap = static_cast<uint16_t>(toUint32(info[5], "cap", 0, 0xffff));
    const size_t pixels = out.length / 2;
    const ArrayView<uint16_t> values = toArrayView<uint16_t>(info[3], "maxima", (pixels + maxima.group - 1) / maxima.group);
    maxima.values = values.data;
    maxima.count = values.length;
    std::fill(values.data, values.data + values.length, uint16_t(0));
  }
  try {
    bitshuffleLz4Decode(input.data, input.length, out.data, out.length, elemSize, info.Length() == 6 ? &maxima : nullptr);
  } catch (const CodecError& err) {
    throw Napi::Error::New(env, err.what());
  }
  return env.Undefined();
}

// For tests and benchmarks: every path gives the same bytes, so only speed depends on this.
Napi::Value SetBitshuffleIsa(const Napi::CallbackInfo& info) {
  expectArgs(info, 1, "setBitshuffleIsa");
  const Napi::Env env = info.Env();
  const std::string name = info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
  const BitshuffleIsa known[] = {BitshuffleIsa::kAuto, BitshuffleIsa::kScalar, BitshuffleIsa::kSse2, BitshuffleIsa::kAvx2};
  for (const BitshuffleIsa isa : known) {
    if (name != bitshuffleIsaName(isa)) continue;
    try {
      return Napi::String::New(env, bitshuffleIsaName(setBitshuffleIsa(isa)));
    } catch (const CodecError& err) {
      throw Napi::Error::New(env, err.what());
    }
  }
  throw Napi::TypeError::New(env, "Expected name to be 'auto', 'scalar', 'sse2' or 'avx2'");
}

Napi::Value ZstdCompress(const Napi::CallbackInfo& info) {
  expectArgs(info, 2, "zstdCompress");
  const Napi::Env env = info.Env();
  const ArrayView<uint8_t> input = toBytes(info[0], "input");
  const int level = static_cast<int>(toUint32(info[1], "level", 1, static_cast<uint32_t>(ZSTD_maxCLevel())));
  thread_local std::unique_ptr<ZSTD_CCtx, size_t (*)(ZSTD_CCtx*)> cctx(ZSTD_createCCtx(), ZSTD_freeCCtx);
  const size_t bound = ZSTD_compressBound(input.length);
  uint8_t* buffer = scratch(bound);
  const size_t n = ZSTD_compressCCtx(cctx.get(), buffer, bound, input.data, input.length, level);
  if (ZSTD_isError(n)) throw Napi::Error::New(env, ZSTD_getErrorName(n));
  return copyOut(env, buffer, n);
}

Napi::Value ZstdDecompress(const Napi::CallbackInfo& info) {
  expectArgs(info, 2, "zstdDecompress");
  const Napi::Env env = info.Env();
  const ArrayView<uint8_t> input = toBytes(info[0], "input");
  thread_local std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> dctx(ZSTD_createDCtx(), ZSTD_freeDCtx);
  // The declared size is trusted only for a single frame; several concatenated frames stream.
  unsigned long long size = ZSTD_getFrameContentSize(input.data, input.length);
  if (size == ZSTD_CONTENTSIZE_ERROR) throw Napi::Error::New(env, "not a valid zstd frame");
  const size_t frameBytes = ZSTD_findFrameCompressedSize(input.data, input.length);
  if (ZSTD_isError(frameBytes)) throw Napi::Error::New(env, ZSTD_getErrorName(frameBytes));
  if (frameBytes != input.length) size = ZSTD_CONTENTSIZE_UNKNOWN;
  if (!info[1].IsNull()) {
    const ArrayView<uint8_t> out = toBytes(info[1], "out");
    if (size != ZSTD_CONTENTSIZE_UNKNOWN && size > out.length) {
      throw Napi::Error::New(env, "frame holds " + std::to_string(size) + " bytes but out has room for " +
                                      std::to_string(out.length));
    }
    const size_t n = ZSTD_decompressDCtx(dctx.get(), out.data, out.length, input.data, input.length);
    if (ZSTD_isError(n)) throw Napi::Error::New(env, ZSTD_getErrorName(n));
    return viewOf(env, info[1], n);
  }
  if (size != ZSTD_CONTENTSIZE_UNKNOWN) {
    if (size > 0xFFFFFFFFull) throw Napi::Error::New(env, "frame declares an implausible size of " + std::to_string(size) + " bytes");
    auto result = Napi::Uint8Array::New(env, static_cast<size_t>(size));
    const size_t n = ZSTD_decompressDCtx(dctx.get(), result.Data(), result.ElementLength(), input.data, input.length);
    if (ZSTD_isError(n)) throw Napi::Error::New(env, ZSTD_getErrorName(n));
    if (n != size) throw Napi::Error::New(env, "frame is shorter than its declared size");
    return result;
  }
  // A streamed frame without its size (e.g. from a streaming compressor): grow as needed.
  ZSTD_DCtx_reset(dctx.get(), ZSTD_reset_session_only);
  std::vector<uint8_t> data;
  size_t produced = 0;
  size_t status = 0;
  ZSTD_inBuffer in{input.data, input.length, 0};
  for (;;) {
    if (data.size() - produced < ZSTD_DStreamOutSize()) {
      if (data.size() > 0xFFFFFFFFull) throw Napi::Error::New(env, "zstd frame decompresses to more than 4 GiB");
      data.resize(std::max(2 * data.size(), produced + ZSTD_DStreamOutSize()));
    }
    ZSTD_outBuffer out{data.data(), data.size(), produced};
    status = ZSTD_decompressStream(dctx.get(), &out, &in);
    if (ZSTD_isError(status)) throw Napi::Error::New(env, ZSTD_getErrorName(status));
    produced = out.pos;
    // Done when all input is consumed and either the frame ended or zstd had room to spare.
    if (in.pos == in.size && (status == 0 || out.pos < out.size)) break;
  }
  if (status != 0) throw Napi::Error::New(env, "truncated zstd frame");
  data.resize(produced);
  return copyOut(env, data.data(), data.size());
}

Napi::Value BloscCompress(const Napi::CallbackInfo& info) {
  expectArgs(info, 6, "bloscCompress");
  const Napi::Env env = info.Env();
  const ArrayView<uint8_t> input = toBytes(info[0], "input");
  if (!info[1].IsString()) throw Napi::TypeError::New(env, "Expected cname to be a string");
  const std::string cname = info[1].As<Napi::String>().Utf8Value();
  const int clevel = static_cast<int>(toUint32(info[2], "clevel", 0, 9));
  const int shuffle = static_cast<int>(toUint32(info[3], "shuffle", 0, 2));
  const size_t typesize = toUint32(info[4], "typesize", 1, BLOSC_MAX_TYPESIZE);
  const size_t blocksize = toUint32(info[5], "blocksize", 0, 0x7FFFFFFF);
  if (input.length > BLOSC_MAX_BUFFERSIZE) throw Napi::RangeError::New(env, "input too large for blosc");
  const size_t bound = input.length + BLOSC_MAX_OVERHEAD;
  uint8_t* buffer = scratch(bound);
  const int n = blosc_compress_ctx(clevel, shuffle, typesize, input.length, input.data, buffer, bound,
                                   cname.c_str(), blocksize, 1);
  if (n <= 0) throw Napi::Error::New(env, "blosc compression failed (code " + std::to_string(n) + ")");
  return copyOut(env, buffer, static_cast<size_t>(n));
}

Napi::Value BloscDecompress(const Napi::CallbackInfo& info) {
  expectArgs(info, 2, "bloscDecompress");
  const Napi::Env env = info.Env();
  const ArrayView<uint8_t> input = toBytes(info[0], "input");
  size_t nbytes = 0, cbytes = 0, blocksize = 0;
  if (input.length < BLOSC_MIN_HEADER_LENGTH) {
    throw Napi::Error::New(env, "buffer of " + std::to_string(input.length) + " bytes is shorter than the 16-byte blosc header");
  }
  blosc_cbuffer_sizes(input.data, &nbytes, &cbytes, &blocksize);
  if (cbytes != input.length || blosc_cbuffer_validate(input.data, input.length, &nbytes) != 0) {
    throw Napi::Error::New(env, "invalid blosc header (declares " + std::to_string(cbytes) +
                                    " compressed bytes, received " + std::to_string(input.length) + ")");
  }
  Napi::Uint8Array result;
  uint8_t* dest;
  if (!info[1].IsNull()) {
    const ArrayView<uint8_t> out = toBytes(info[1], "out");
    if (nbytes > out.length) {
      throw Napi::Error::New(env, "buffer holds " + std::to_string(nbytes) + " bytes but out has room for " +
                                      std::to_string(out.length));
    }
    result = viewOf(env, info[1], nbytes);
    dest = out.data;
  } else {
    result = Napi::Uint8Array::New(env, nbytes);
    dest = result.Data();
  }
  if (nbytes == 0) return result;
  const int n = blosc_decompress_ctx(input.data, dest, nbytes, 1);
  if (n != static_cast<int>(nbytes)) {
    throw Napi::Error::New(env, "corrupt blosc data (code " + std::to_string(n) + ")");
  }
  return result;
}

}  // namespace sx
