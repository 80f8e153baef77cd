// JS value -> C++ conversions for the binding. TypeScript has validated every argument already;
// these checks are the cheap second line that keeps a kernel from reading out of bounds.
#pragma once

#include <napi.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>

namespace sx {

template <typename T>
struct ArrayView {
  T* data;
  size_t length;
};

template <typename T>
struct TypedArrayKind;
template <>
struct TypedArrayKind<uint8_t> {
  static constexpr napi_typedarray_type type = napi_uint8_array;
  static constexpr const char* name = "Uint8Array";
};
template <>
struct TypedArrayKind<int16_t> {
  static constexpr napi_typedarray_type type = napi_int16_array;
  static constexpr const char* name = "Int16Array";
};
template <>
struct TypedArrayKind<uint16_t> {
  static constexpr napi_typedarray_type type = napi_uint16_array;
  static constexpr const char* name = "Uint16Array";
};
template <>
struct TypedArrayKind<uint32_t> {
  static constexpr napi_typedarray_type type = napi_uint32_array;
  static constexpr const char* name = "Uint32Array";
};
template <>
struct TypedArrayKind<int32_t> {
  static constexpr napi_typedarray_type type = napi_int32_array;
  static constexpr const char* name = "Int32Array";
};
template <>
struct TypedArrayKind<float> {
  static constexpr napi_typedarray_type type = napi_float32_array;
  static constexpr const char* name = "Float32Array";
};
template <>
struct TypedArrayKind<double> {
  static constexpr napi_typedarray_type type = napi_float64_array;
  static constexpr const char* name = "Float64Array";
};

// The elements of a typed array of exactly type T and `length` elements.
template <typename T>
ArrayView<T> toArrayView(const Napi::Value& value, const char* what, size_t length) {
  const Napi::Env env = value.Env();
  if (!value.IsTypedArray() ||
      value.As<Napi::TypedArray>().TypedArrayType() != TypedArrayKind<T>::type) {
    throw Napi::TypeError::New(
        env, std::string("Expected ") + what + " to be a " + TypedArrayKind<T>::name);
  }
  auto array = value.As<Napi::TypedArrayOf<T>>();
  if (array.ElementLength() != length) {
    throw Napi::RangeError::New(env, std::string("Expected ") + what + " of " +
                                         std::to_string(length) + " elements but received " +
                                         std::to_string(array.ElementLength()));
  }
  return {array.Data(), length};
}

// An integer in [min, max], passed as a JS number.
inline uint32_t toUint32(const Napi::Value& value, const char* what, uint32_t min, uint32_t max) {
  const double n = value.IsNumber() ? value.As<Napi::Number>().DoubleValue() : NAN;
  if (!(n >= min && n <= max && n == std::floor(n))) {
    throw Napi::RangeError::New(value.Env(), std::string("Expected ") + what +
                                                 " to be an integer from " + std::to_string(min) +
                                                 " to " + std::to_string(max));
  }
  return static_cast<uint32_t>(n);
}

// Any number but NaN (a NaN threshold would silently disable a comparison).
inline double toNumber(const Napi::Value& value, const char* what) {
  const double n = value.IsNumber() ? value.As<Napi::Number>().DoubleValue() : NAN;
  if (std::isnan(n)) {
    throw Napi::TypeError::New(value.Env(), std::string("Expected ") + what + " to be a number");
  }
  return n;
}

}  // namespace sx
