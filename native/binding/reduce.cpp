// Bindings of the reduction codecs' kernels (codecs/quantized.ts, codecs/peaks.ts):
//   quantizeFrame(frame, step, exact, codes)      codes: same type and length as frame
//   dequantizeFrame(codes, step, exact, out)      out: same type and length as codes
//   encodePeakBoxes(frame, width, height, fs, ss, count, box, out) -> bytes written
// Outputs are allocated by the caller so the kernels never allocate what they return.
#include "../kernels/peak-boxes.hpp"
#include "../kernels/quantize.hpp"
#include "convert.hpp"

#include <cstdint>
#include <limits>

namespace sx {
namespace {

napi_typedarray_type frameType(const Napi::Value& value) {
  const napi_typedarray_type type =
      value.IsTypedArray() ? value.As<Napi::TypedArray>().TypedArrayType() : napi_float64_array;
  switch (type) {
    case napi_uint16_array:
    case napi_uint32_array:
    case napi_int32_array:
    case napi_float32_array:
      return type;
    default:
      throw Napi::TypeError::New(
          value.Env(), "Expected frame to be a Uint16Array, Uint32Array, Int32Array or Float32Array");
  }
}

QuantizeParams quantizeParams(const Napi::CallbackInfo& info) {
  QuantizeParams params{};
  params.step = toNumber(info[1], "step");
  if (!(params.step >= 0.01 && params.step <= 2.0)) {
    throw Napi::RangeError::New(info.Env(), "Expected step from 0.01 to 2");
  }
  params.exact = toUint32(info[2], "exact", 3, std::numeric_limits<uint32_t>::max());
  return params;
}

template <typename T, bool Decode>
Napi::Value runQuantize(const Napi::CallbackInfo& info, const QuantizeParams& params) {
  const size_t length = info[0].As<Napi::TypedArray>().ElementLength();
  const ArrayView<T> in = toArrayView<T>(info[0], "frame", length);
  const ArrayView<T> out = toArrayView<T>(info[3], "out", length);
  if (Decode) {
    dequantizeFrame<T>(in.data, length, params, out.data);
  } else {
    quantizeFrame<T>(in.data, length, params, out.data);
  }
  return info.Env().Undefined();
}

template <bool Decode>
Napi::Value quantizeDispatch(const Napi::CallbackInfo& info, const char* name) {
  if (info.Length() != 4) {
    throw Napi::TypeError::New(info.Env(), std::string("Expected 4 arguments for ") + name);
  }
  const QuantizeParams params = quantizeParams(info);
  switch (frameType(info[0])) {
    case napi_uint16_array:
      return runQuantize<uint16_t, Decode>(info, params);
    case napi_uint32_array:
      return runQuantize<uint32_t, Decode>(info, params);
    case napi_int32_array:
      return runQuantize<int32_t, Decode>(info, params);
    default:
      return runQuantize<float, Decode>(info, params);
  }
}

template <typename T>
Napi::Value runPeakBoxes(const Napi::CallbackInfo& info, PeakBoxParams params, uint8_t typeCode) {
  params.typeCode = typeCode;
  const size_t count = toUint32(info[5], "count", 0, std::numeric_limits<uint32_t>::max());
  const ArrayView<T> frame = toArrayView<T>(info[0], "frame", params.width * params.height);
  const Napi::Value fsValue = info[3], ssValue = info[4];
  const size_t fsLength = fsValue.IsTypedArray() ? fsValue.As<Napi::TypedArray>().ElementLength() : 0;
  const size_t ssLength = ssValue.IsTypedArray() ? ssValue.As<Napi::TypedArray>().ElementLength() : 0;
  if (fsLength < count || ssLength < count) {
    throw Napi::RangeError::New(info.Env(), "Expected fs and ss to hold at least count peaks");
  }
  const ArrayView<float> fs = toArrayView<float>(fsValue, "fs", fsLength);
  const ArrayView<float> ss = toArrayView<float>(ssValue, "ss", ssLength);
  const size_t bound = peakBoxesBound(params.width, params.height, count, params.box, sizeof(T));
  const Napi::Value outValue = info[7];
  const size_t outLength = outValue.IsTypedArray() ? outValue.As<Napi::TypedArray>().ElementLength() : 0;
  if (outLength < bound) {
    throw Napi::RangeError::New(info.Env(), "Expected out to hold at least " +
                                                std::to_string(bound) + " bytes");
  }
  const ArrayView<uint8_t> out = toArrayView<uint8_t>(outValue, "out", outLength);
  const size_t written = encodePeakBoxes<T>(frame.data, fs.data, ss.data, count, params, out.data);
  return Napi::Number::New(info.Env(), static_cast<double>(written));
}

}  // namespace

Napi::Value QuantizeFrame(const Napi::CallbackInfo& info) {
  return quantizeDispatch<false>(info, "quantizeFrame");
}

Napi::Value DequantizeFrame(const Napi::CallbackInfo& info) {
  return quantizeDispatch<true>(info, "dequantizeFrame");
}

Napi::Value EncodePeakBoxes(const Napi::CallbackInfo& info) {
  if (info.Length() != 8) {
    throw Napi::TypeError::New(info.Env(), "Expected 8 arguments for encodePeakBoxes");
  }
  PeakBoxParams params{};
  params.width = toUint32(info[1], "width", 1, std::numeric_limits<uint32_t>::max());
  params.height = toUint32(info[2], "height", 1, std::numeric_limits<uint32_t>::max());
  params.box = toUint32(info[6], "box", 0, kMaxPeakBox);
  switch (frameType(info[0])) {
    case napi_uint16_array:
      return runPeakBoxes<uint16_t>(info, params, 0);
    case napi_uint32_array:
      return runPeakBoxes<uint32_t>(info, params, 1);
    case napi_int32_array:
      return runPeakBoxes<int32_t>(info, params, 2);
    default:
      return runPeakBoxes<float>(info, params, 3);
  }
}

}  // namespace sx
