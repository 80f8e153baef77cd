// binFrame(frame, mask | null, width, height, factor, minGood, saturation, out, badMask) -> nBad
// Outputs are allocated by the caller (src/reduce/binning.ts) so the kernel never allocates.
#include "../kernels/binning.hpp"
#include "convert.hpp"

#include <cstdint>
#include <limits>

namespace sx {
namespace {

template <typename In>
Napi::Value runBinFrame(const Napi::CallbackInfo& info, const BinningParams& params) {
  using Out = typename BinningTraits<In>::Out;
  const size_t inLength = params.width * params.height;
  const size_t outLength =
      binnedSize(params.width, params.factor) * binnedSize(params.height, params.factor);
  const ArrayView<In> frame = toArrayView<In>(info[0], "frame", inLength);
  const uint8_t* mask =
      info[1].IsNull() ? nullptr : toArrayView<uint8_t>(info[1], "mask", inLength).data;
  const ArrayView<Out> out = toArrayView<Out>(info[7], "out", outLength);
  const ArrayView<uint8_t> badMask = toArrayView<uint8_t>(info[8], "badMask", outLength);
  const size_t nBad = binFrame<In>(frame.data, mask, params, out.data, badMask.data);
  return Napi::Number::New(info.Env(), static_cast<double>(nBad));
}

}  // namespace

Napi::Value BinFrame(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  if (info.Length() != 9) {
    throw Napi::TypeError::New(env, "Expected 9 arguments for binFrame");
  }
  const uint32_t maxSide = std::numeric_limits<uint32_t>::max();
  BinningParams params{};
  params.width = toUint32(info[2], "width", 1, maxSide);
  params.height = toUint32(info[3], "height", 1, maxSide);
  params.factor = toUint32(info[4], "factor", 2, 4);
  params.minGood = toUint32(info[5], "minGood", 1, params.factor * params.factor);
  params.saturation = toNumber(info[6], "saturation");

  const napi_typedarray_type type = info[0].IsTypedArray()
                                        ? info[0].As<Napi::TypedArray>().TypedArrayType()
                                        : napi_float64_array;
  switch (type) {
    case napi_uint16_array:
      return runBinFrame<uint16_t>(info, params);
    case napi_uint32_array:
      return runBinFrame<uint32_t>(info, params);
    case napi_int32_array:
      return runBinFrame<int32_t>(info, params);
    case napi_float32_array:
      return runBinFrame<float>(info, params);
    default:
      throw Napi::TypeError::New(
          env, "Expected frame to be a Uint16Array, Uint32Array, Int32Array or Float32Array");
  }
}

}  // namespace sx
