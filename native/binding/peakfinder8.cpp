// peakfinder8(frame, width, height, radius, panel, bad, params[, flags[, plan[, maxima]]]) -> { count, fs,
// ss, panel, intensity, snr, npix, maxValue }; flags = { flagLessThan?, flagMoreThan?, flagEqual? }
// (undefined = none), see PeakFinderFlags. The peak count is known only at the end, so the binding
// allocates the outputs: one ArrayBuffer per column, so callers can transfer each to a worker.
// plan = an object in which the binding keeps a PeakFinderPlan between calls (its `handle`, an
// external only this file makes); the caller passes it only with the radius and panel maps it
// was first used with. maxima = { values, group, cap }: the frame's group maxima from its decoder
// (GroupMaxima), used only when they fit.
#include "../kernels/peakfinder8.hpp"
#include "convert.hpp"

#include <cstdint>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <vector>

namespace sx {
namespace {

// convert.hpp has no Int16Array kind; the panel map is the only one, so it is checked here.
const int16_t* toPanelMap(const Napi::Value& value, size_t length) {
  const Napi::Env env = value.Env();
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_int16_array) {
    throw Napi::TypeError::New(env, "Expected panel to be an Int16Array");
  }
  auto array = value.As<Napi::Int16Array>();
  if (array.ElementLength() != length) {
    throw Napi::RangeError::New(env, "Expected panel of " + std::to_string(length) +
                                         " elements but received " +
                                         std::to_string(array.ElementLength()));
  }
  return array.Data();
}

PeakFinderParams toParams(const Napi::Value& value) {
  const Napi::Env env = value.Env();
  if (!value.IsObject()) throw Napi::TypeError::New(env, "Expected params to be an object");
  const Napi::Object object = value.As<Napi::Object>();
  const uint32_t maxCount = std::numeric_limits<int32_t>::max();
  PeakFinderParams params{};
  params.threshold = toNumber(object.Get("threshold"), "threshold");
  params.minSnr = toNumber(object.Get("minSnr"), "minSnr");
  params.minPixCount = toUint32(object.Get("minPixCount"), "minPixCount", 1, maxCount);
  params.maxPixCount =
      toUint32(object.Get("maxPixCount"), "maxPixCount", params.minPixCount, maxCount);
  params.localBgRadius = toUint32(object.Get("localBgRadius"), "localBgRadius", 1, 1024);
  params.minRes = toNumber(object.Get("minRes"), "minRes");
  params.maxRes = toNumber(object.Get("maxRes"), "maxRes");
  params.maxPeaksPerPanel =
      toUint32(object.Get("maxPeaksPerPanel"), "maxPeaksPerPanel", 1, maxCount);
  if (!(params.minSnr >= 0 && params.minRes >= 0 && params.maxRes >= 0) ||
      std::isinf(params.threshold) || std::isinf(params.minSnr) || std::isinf(params.minRes) ||
      std::isinf(params.maxRes)) {
    throw Napi::RangeError::New(env, "Expected finite threshold and non-negative minSnr, minRes, maxRes");
  }
  return params;
}

PeakFinderFlags toFlags(const Napi::Value& value) {
  const Napi::Env env = value.Env();
  PeakFinderFlags flags;
  if (value.IsUndefined()) return flags;
  if (!value.IsObject()) throw Napi::TypeError::New(env, "Expected flags to be an object");
  const Napi::Object object = value.As<Napi::Object>();
  const Napi::Value lessThan = object.Get("flagLessThan");
  if (!lessThan.IsUndefined()) flags.lessThan = toNumber(lessThan, "flagLessThan");
  const Napi::Value moreThan = object.Get("flagMoreThan");
  if (!moreThan.IsUndefined()) flags.moreThan = toNumber(moreThan, "flagMoreThan");
  const Napi::Value equal = object.Get("flagEqual");
  if (!equal.IsUndefined()) {
    if (!equal.IsArray() || equal.As<Napi::Array>().Length() > kMaxFlagEqual) {
      throw Napi::TypeError::New(env, "Expected flagEqual to be an array of at most " +
                                          std::to_string(kMaxFlagEqual) + " numbers");
    }
    const Napi::Array array = equal.As<Napi::Array>();
    flags.nEqual = array.Length();
    for (uint32_t k = 0; k < flags.nEqual; ++k) {
      flags.equal[k] = toNumber(array.Get(k), "flagEqual");
    }
  }
  return flags;
}

// Marks the externals holding our plans, so that no other external is ever read as one.
constexpr napi_type_tag kPlanTag = {0x9b1f5c2e7a4d4e61ULL, 0xb3a8d0c4f27e5a19ULL};

// The plan kept in `slot`, (re)built first if it has none that fits these maps and params.
const PeakFinderPlan* toPlan(const Napi::Value& slot, const PeakFinderMaps& maps,
                             const PeakFinderParams& params) {
  const Napi::Env env = slot.Env();
  if (slot.IsUndefined()) return nullptr;
  if (!slot.IsObject()) throw Napi::TypeError::New(env, "Expected plan to be an object");
  Napi::Object object = slot.As<Napi::Object>();
  const Napi::Value handle = object.Get("handle");
  if (handle.IsExternal()) {
    auto external = handle.As<Napi::External<PeakFinderPlan>>();
    if (external.CheckTypeTag(&kPlanTag) && planFits(*external.Data(), maps, params)) {
      return external.Data();
    }
  }
  auto plan = std::make_unique<PeakFinderPlan>();
  planPeakFinder8(maps, params, *plan);
  // Told to V8, so that garbage collection weighs the plans it could free.
  const int64_t bytes = static_cast<int64_t>(
      plan->runStart.size() * sizeof(size_t) + plan->runLength.size() * sizeof(uint32_t) +
      plan->slot.size() * sizeof(uint32_t) + plan->binStart.size() * sizeof(uint32_t));
  auto external = Napi::External<PeakFinderPlan>::New(
      env, plan.get(), [bytes](Napi::Env finalizeEnv, PeakFinderPlan* data) {
        delete data;
        Napi::MemoryManagement::AdjustExternalMemory(finalizeEnv, -bytes);
      });
  const PeakFinderPlan* kept = plan.release();
  Napi::MemoryManagement::AdjustExternalMemory(env, bytes);
  external.TypeTag(&kPlanTag);
  object.Set("handle", external);
  return kept;
}

template <typename T>
Napi::Value toColumn(Napi::Env env, const std::vector<T>& values) {
  auto array = Napi::TypedArrayOf<T>::New(env, values.size());
  if (!values.empty()) std::memcpy(array.Data(), values.data(), values.size() * sizeof(T));
  return array;
}

template <typename In>
Napi::Value runPeakFinder(const Napi::CallbackInfo& info, PeakFinderMaps& maps,
                          const PeakFinderFlags& flags, const PeakFinderParams& params) {
  const Napi::Env env = info.Env();
  const size_t pixels = maps.width * maps.height;
  const ArrayView<In> frame = toArrayView<In>(info[0], "frame", pixels);
  maps.radius = toArrayView<float>(info[3], "radius", pixels).data;
  maps.panel = toPanelMap(info[4], pixels);
  maps.bad = toArrayView<uint8_t>(info[5], "bad", pixels).data;
  const PeakFinderPlan* plan = toPlan(info[8], maps, params);
  GroupMaxima maxima{};
  const bool withMaxima = info.Length() > 9 && !info[9].IsUndefined();
  if (withMaxima) {
    if (!info[9].IsObject()) throw Napi::TypeError::New(env, "Expected maxima to be an object");
    const Napi::Object m = info[9].As<Napi::Object>();
    maxima.group = toUint32(m.Get("group"), "maxima.group", 1, std::numeric_limits<uint32_t>::max());
    maxima.cap = static_cast<uint16_t>(toUint32(m.Get("cap"), "maxima.cap", 0, 0xffff));
    const ArrayView<uint16_t> values = toArrayView<uint16_t>(m.Get("values"), "maxima.values", (pixels + maxima.group - 1) / maxima.group);
    maxima.values = values.data;
    maxima.count = values.length;
  }
  PeakFinderResult result;
  findPeaks8<In>(frame.data, maps, flags, params, plan, result, withMaxima ? &maxima : nullptr);

  Napi::Object out = Napi::Object::New(env);
  out.Set("count", Napi::Number::New(env, static_cast<double>(result.fs.size())));
  out.Set("fs", toColumn(env, result.fs));
  out.Set("ss", toColumn(env, result.ss));
  out.Set("panel", toColumn(env, result.panel));
  out.Set("intensity", toColumn(env, result.intensity));
  out.Set("snr", toColumn(env, result.snr));
  out.Set("npix", toColumn(env, result.npix));
  out.Set("maxValue", toColumn(env, result.maxValue));
  return out;
}

}  // namespace

Napi::Value PeakFinder8(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  if (info.Length() < 7 || info.Length() > 10) {
    throw Napi::TypeError::New(env, "Expected 7 to 10 arguments for peakfinder8");
  }
  const uint32_t maxSide = std::numeric_limits<uint32_t>::max();
  PeakFinderMaps maps{};
  maps.width = toUint32(info[1], "width", 1, maxSide);
  maps.height = toUint32(info[2], "height", 1, maxSide);
  const PeakFinderParams params = toParams(info[6]);
  const PeakFinderFlags flags = toFlags(info[7]);

  const napi_typedarray_type type = info[0].IsTypedArray()
                                        ? info[0].As<Napi::TypedArray>().TypedArrayType()
                                        : napi_float64_array;
  switch (type) {
    case napi_uint16_array:
      return runPeakFinder<uint16_t>(info, maps, flags, params);
    case napi_uint32_array:
      return runPeakFinder<uint32_t>(info, maps, flags, params);
    case napi_int32_array:
      return runPeakFinder<int32_t>(info, maps, flags, params);
    case napi_float32_array:
      return runPeakFinder<float>(info, maps, flags, params);
    default:
      throw Napi::TypeError::New(
          env, "Expected frame to be a Uint16Array, Uint32Array, Int32Array or Float32Array");
  }
}

}  // namespace sx
