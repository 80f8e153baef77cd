// Direct HDF5 chunk I/O (native/io/h5-chunks.*) for src/store/hdf5-chunks.ts, which validates
// every argument first. Handles are the hid_t values as BigInts (HDF5 puts the identifier's type
// in the top bits, so they do not fit a double).
//   h5OpenFile(path, writable) -> bigint
//   h5CloseFile(file) -> undefined
//   h5OpenDataset(file, path) -> bigint
//   h5CloseDataset(dataset) -> undefined
//   h5DescribeDataset(dataset) -> { shape, maxShape, chunks, element, filters }
//   h5ChunkBytes(dataset, offset) -> number (0 = never written)
//   h5ReadChunk(dataset, offset, out | null) -> { bytes, filterMask } (bytes: a view of out when given)
//   h5ReadFrames(dataset, start, count, out) -> undefined
//   h5ExtendFrames(dataset, frames) -> undefined
//   h5WriteChunk(dataset, offset, bytes, filterMask) -> undefined
// Offsets are arrays of element coordinates. Chunks go straight between HDF5 and the typed
// arrays' memory, with no copy.
#include "../io/h5-chunks.hpp"
#include "convert.hpp"

#include <exception>
#include <stdexcept>
#include <string>
#include <vector>

namespace sx {
namespace {

void expectArgs(const Napi::CallbackInfo& info, size_t n, const char* name) {
  if (info.Length() != n) {
    throw Napi::TypeError::New(info.Env(), "Expected " + std::to_string(n) + " arguments for " + name);
  }
}

h5::Handle toHandle(const Napi::Value& value, const char* what) {
  bool lossless = false;
  const int64_t handle = value.IsBigInt() ? value.As<Napi::BigInt>().Int64Value(&lossless) : -1;
  if (!lossless || handle < 0) {
    throw Napi::TypeError::New(value.Env(), std::string("Expected ") + what + " to be an HDF5 handle (a bigint)");
  }
  return handle;
}

std::string toString(const Napi::Value& value, const char* what) {
  if (!value.IsString()) throw Napi::TypeError::New(value.Env(), std::string("Expected ") + what + " to be a string");
  return value.As<Napi::String>().Utf8Value();
}

// A whole number from 0 to 2^53, the largest a JS number holds exactly.
uint64_t toCount(const Napi::Value& value, const char* what) {
  const double n = value.IsNumber() ? value.As<Napi::Number>().DoubleValue() : -1;
  if (!(n >= 0 && n <= 9007199254740992.0 && n == std::floor(n))) {
    throw Napi::RangeError::New(value.Env(), std::string("Expected ") + what + " to be an integer >= 0");
  }
  return static_cast<uint64_t>(n);
}

std::vector<uint64_t> toOffset(const Napi::Value& value) {
  if (!value.IsArray()) throw Napi::TypeError::New(value.Env(), "Expected offset to be an array");
  auto array = value.As<Napi::Array>();
  std::vector<uint64_t> offset(array.Length());
  for (uint32_t i = 0; i < array.Length(); ++i) offset[i] = toCount(array.Get(i), "offset coordinates");
  return offset;
}

ArrayView<uint8_t> toBytes(const Napi::Value& value, const char* what) {
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    throw Napi::TypeError::New(value.Env(), std::string("Expected ") + what + " to be a Uint8Array");
  }
  auto array = value.As<Napi::Uint8Array>();
  return {array.Data(), array.ElementLength()};
}

Napi::Value toNumbers(Napi::Env env, const std::vector<uint64_t>& values) {
  auto array = Napi::Array::New(env, values.size());
  for (uint32_t i = 0; i < values.size(); ++i) array.Set(i, static_cast<double>(values[i]));
  return array;
}

// Runs one call into the library, turning its C++ errors into JS Errors.
template <typename F>
auto guarded(Napi::Env env, F&& call) -> decltype(call()) {
  try {
    return call();
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::exception& err) {
    throw Napi::Error::New(env, err.what());
  }
}

const char* kindName(h5::ElementKind kind) {
  switch (kind) {
    case h5::ElementKind::Uint: return "uint";
    case h5::ElementKind::Int: return "int";
    case h5::ElementKind::Float: return "float";
  }
  return "unknown";
}

}  // namespace

Napi::Value H5OpenFile(const Napi::CallbackInfo& info) {
  expectArgs(info, 2, "h5OpenFile");
  const std::string path = toString(info[0], "path");
  const bool writable = info[1].ToBoolean().Value();
  return Napi::BigInt::New(info.Env(), guarded(info.Env(), [&] { return h5::openFile(path, writable); }));
}

Napi::Value H5CloseFile(const Napi::CallbackInfo& info) {
  expectArgs(info, 1, "h5CloseFile");
  const h5::Handle file = toHandle(info[0], "file");
  guarded(info.Env(), [&] { h5::closeFile(file); });
  return info.Env().Undefined();
}

Napi::Value H5OpenDataset(const Napi::CallbackInfo& info) {
  expectArgs(info, 2, "h5OpenDataset");
  const h5::Handle file = toHandle(info[0], "file");
  const std::string path = toString(info[1], "path");
  return Napi::BigInt::New(info.Env(), guarded(info.Env(), [&] { return h5::openDataset(file, path); }));
}

Napi::Value H5CloseDataset(const Napi::CallbackInfo& info) {
  expectArgs(info, 1, "h5CloseDataset");
  const h5::Handle dataset = toHandle(info[0], "dataset");
  guarded(info.Env(), [&] { h5::closeDataset(dataset); });
  return info.Env().Undefined();
}

Napi::Value H5DescribeDataset(const Napi::CallbackInfo& info) {
  expectArgs(info, 1, "h5DescribeDataset");
  const Napi::Env env = info.Env();
  const h5::Handle dataset = toHandle(info[0], "dataset");
  const h5::DatasetInfo d = guarded(env, [&] { return h5::describeDataset(dataset); });
  auto result = Napi::Object::New(env);
  result.Set("shape", toNumbers(env, d.shape));
  auto maxShape = Napi::Array::New(env, d.maxShape.size());
  for (uint32_t i = 0; i < d.maxShape.size(); ++i) {
    maxShape.Set(i, d.maxShape[i] == h5::kUnlimited ? env.Null() : Napi::Number::New(env, static_cast<double>(d.maxShape[i])));
  }
  result.Set("maxShape", maxShape);
  result.Set("chunks", d.chunks.empty() ? env.Null() : toNumbers(env, d.chunks));
  auto element = Napi::Object::New(env);
  element.Set("kind", kindName(d.kind));
  element.Set("bytes", static_cast<double>(d.elementBytes));
  element.Set("littleEndian", d.littleEndian);
  result.Set("element", element);
  auto filters = Napi::Array::New(env, d.filters.size());
  for (uint32_t i = 0; i < d.filters.size(); ++i) {
    const h5::Filter& f = d.filters[i];
    auto filter = Napi::Object::New(env);
    filter.Set("id", f.id);
    filter.Set("flags", f.flags);
    auto values = Napi::Array::New(env, f.cdValues.size());
    for (uint32_t j = 0; j < f.cdValues.size(); ++j) values.Set(j, f.cdValues[j]);
    filter.Set("cdValues", values);
    filter.Set("name", f.name);
    filters.Set(i, filter);
  }
  result.Set("filters", filters);
  return result;
}

Napi::Value H5ChunkBytes(const Napi::CallbackInfo& info) {
  expectArgs(info, 2, "h5ChunkBytes");
  const h5::Handle dataset = toHandle(info[0], "dataset");
  const std::vector<uint64_t> offset = toOffset(info[1]);
  const uint64_t bytes = guarded(info.Env(), [&] { return h5::chunkStorageSize(dataset, offset); });
  return Napi::Number::New(info.Env(), static_cast<double>(bytes));
}

Napi::Value H5ReadChunk(const Napi::CallbackInfo& info) {
  expectArgs(info, 3, "h5ReadChunk");
  const Napi::Env env = info.Env();
  const h5::Handle dataset = toHandle(info[0], "dataset");
  const std::vector<uint64_t> offset = toOffset(info[1]);
  const bool into = !info[2].IsNull();
  const ArrayView<uint8_t> out = into ? toBytes(info[2], "out") : ArrayView<uint8_t>{nullptr, 0};
  Napi::Uint8Array bytes;
  const h5::ChunkRead read = guarded(env, [&] {
    return h5::readChunk(dataset, offset, [&](uint64_t size) {
      if (!into) {
        bytes = Napi::Uint8Array::New(env, static_cast<size_t>(size));
        return bytes.Data();
      }
      if (size > out.length) {
        throw std::length_error("the chunk holds " + std::to_string(size) + " bytes but out has room for " +
                                std::to_string(out.length));
      }
      return out.data;
    });
  });
  if (into) {
    auto array = info[2].As<Napi::Uint8Array>();
    bytes = Napi::Uint8Array::New(env, static_cast<size_t>(read.bytes), array.ArrayBuffer(), array.ByteOffset());
  }
  auto result = Napi::Object::New(env);
  result.Set("bytes", bytes);
  result.Set("filterMask", read.filterMask);
  return result;
}

Napi::Value H5ReadFrames(const Napi::CallbackInfo& info) {
  expectArgs(info, 4, "h5ReadFrames");
  const Napi::Env env = info.Env();
  const h5::Handle dataset = toHandle(info[0], "dataset");
  const uint64_t start = toCount(info[1], "start");
  const uint64_t count = toCount(info[2], "count");
  if (!info[3].IsTypedArray()) throw Napi::TypeError::New(env, "Expected out to be a typed array");
  auto out = info[3].As<Napi::TypedArray>();
  h5::MemoryType type;
  switch (out.TypedArrayType()) {
    case napi_uint16_array: type = h5::MemoryType::Uint16; break;
    case napi_uint32_array: type = h5::MemoryType::Uint32; break;
    case napi_int32_array: type = h5::MemoryType::Int32; break;
    case napi_float32_array: type = h5::MemoryType::Float32; break;
    default: throw Napi::TypeError::New(env, "Expected out to be a Uint16Array, Uint32Array, Int32Array or Float32Array");
  }
  uint8_t* data = static_cast<uint8_t*>(out.ArrayBuffer().Data()) + out.ByteOffset();
  guarded(env, [&] { h5::readFrames(dataset, start, count, type, data, out.ByteLength()); });
  return env.Undefined();
}

Napi::Value H5ExtendFrames(const Napi::CallbackInfo& info) {
  expectArgs(info, 2, "h5ExtendFrames");
  const h5::Handle dataset = toHandle(info[0], "dataset");
  const uint64_t frames = toCount(info[1], "frames");
  guarded(info.Env(), [&] { h5::extendFrames(dataset, frames); });
  return info.Env().Undefined();
}

Napi::Value H5WriteChunk(const Napi::CallbackInfo& info) {
  expectArgs(info, 4, "h5WriteChunk");
  const h5::Handle dataset = toHandle(info[0], "dataset");
  const std::vector<uint64_t> offset = toOffset(info[1]);
  const ArrayView<uint8_t> bytes = toBytes(info[2], "bytes");
  const uint32_t filterMask = toUint32(info[3], "filterMask", 0, 0xFFFFFFFFu);
  guarded(info.Env(), [&] { h5::writeChunk(dataset, offset, filterMask, bytes.data, bytes.length); });
  return info.Env().Undefined();
}

}  // namespace sx
