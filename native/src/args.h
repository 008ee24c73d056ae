// Checked reading of N-API arguments: every entry point goes through these, so a bad call from JS
// throws a JS error naming the argument instead of reading or writing out of bounds.
#pragma once
#include <node_api.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace specter2 {

struct ArgError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

inline void check(napi_status status) {
  if (status != napi_ok) throw ArgError("N-API call failed");
}

inline bool isNullish(napi_env env, napi_value v) {
  napi_valuetype t;
  check(napi_typeof(env, v, &t));
  return t == napi_null || t == napi_undefined;
}

struct F32View {
  float* data;
  size_t length;
};

inline F32View float32Array(napi_env env, napi_value v, const char* name) {
  bool isTyped = false;
  check(napi_is_typedarray(env, v, &isTyped));
  if (!isTyped) throw ArgError(std::string(name) + " must be a Float32Array");
  napi_typedarray_type type;
  F32View view{};
  void* data = nullptr;
  check(napi_get_typedarray_info(env, v, &type, &view.length, &data, nullptr, nullptr));
  if (type != napi_float32_array) throw ArgError(std::string(name) + " must be a Float32Array");
  if (view.length == 0 || data == nullptr) throw ArgError(std::string(name) + " must not be empty");
  view.data = static_cast<float*>(data);
  return view;
}

// Total size of dims, refusing overflow and anything over 2^40 values.
inline size_t sizeOf(const std::vector<int64_t>& dims, const char* name) {
  uint64_t size = 1;
  for (int64_t d : dims)
    if (__builtin_mul_overflow(size, static_cast<uint64_t>(d), &size) || size > (uint64_t{1} << 40))
      throw ArgError(std::string(name) + " is too large");
  return static_cast<size_t>(size);
}

// An array of integers in [min, 2^31), of length `rank` (or 0..maxRank when rank < 0).
inline std::vector<int64_t> integers(napi_env env, napi_value v, const char* name, int rank, int maxRank, int64_t min) {
  bool isArray = false;
  check(napi_is_array(env, v, &isArray));
  uint32_t length = 0;
  if (isArray) check(napi_get_array_length(env, v, &length));
  if (!isArray || (rank >= 0 && length != static_cast<uint32_t>(rank)) || (rank < 0 && length > static_cast<uint32_t>(maxRank)))
    throw ArgError(std::string(name) + (rank >= 0 ? " must be an array of " + std::to_string(rank) + " dimensions"
                                                  : " must be an array of at most " + std::to_string(maxRank) + " dimensions"));
  std::vector<int64_t> out(length);
  for (uint32_t i = 0; i < length; i++) {
    napi_value item;
    check(napi_get_element(env, v, i, &item));
    napi_valuetype t;
    check(napi_typeof(env, item, &t));
    double d = 0;
    if (t == napi_number) check(napi_get_value_double(env, item, &d));
    if (t != napi_number || !(d >= static_cast<double>(min) && d <= INT32_MAX) || d != static_cast<double>(static_cast<int64_t>(d)))
      throw ArgError(std::string(name) + (min > 0 ? " must hold positive integers below 2^31" : " must hold integers from 0 to 2^31"));
    out[i] = static_cast<int64_t>(d);
  }
  return out;
}

inline void expectLength(const F32View& v, size_t size, const char* name) {
  if (v.length != size)
    throw ArgError(std::string(name) + " has " + std::to_string(v.length) + " values, its dimensions say " + std::to_string(size));
}

inline bool boolean(napi_env env, napi_value v, const char* name) {
  napi_valuetype t;
  check(napi_typeof(env, v, &t));
  if (t != napi_boolean) throw ArgError(std::string(name) + " must be a boolean");
  bool b = false;
  check(napi_get_value_bool(env, v, &b));
  return b;
}

inline double number(napi_env env, napi_value v, const char* name) {
  napi_valuetype t;
  check(napi_typeof(env, v, &t));
  if (t != napi_number) throw ArgError(std::string(name) + " must be a number");
  double d = 0;
  check(napi_get_value_double(env, v, &d));
  return d;
}

// An integer code in [0, count): the enums shared with src/backend/native/addon.ts.
inline int code(napi_env env, napi_value v, const char* name, int count) {
  const double d = number(env, v, name);
  if (!(d >= 0 && d < count) || d != static_cast<int>(d))
    throw ArgError(std::string(name) + " must be an integer code below " + std::to_string(count));
  return static_cast<int>(d);
}

template <size_t N>
void arguments(napi_env env, napi_callback_info info, napi_value (&argv)[N]) {
  size_t argc = N;
  check(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  if (argc != N) throw ArgError("expected " + std::to_string(N) + " arguments, got " + std::to_string(argc));
}

}  // namespace specter2
