// N-API entry points. Every argument is checked here, so a bad call from JS throws instead of reading
// or writing out of bounds; oneDNN failures come back as JS errors too.
#include <node_api.h>

#include <cstdint>
#include <stdexcept>
#include <string>

#include "matmul.h"
#include "oneapi/dnnl/dnnl.hpp"

namespace {

using specter2::Activation;
using specter2::MatMulProblem;

struct ArgError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

void check(napi_env env, napi_status status) {
  if (status != napi_ok) throw ArgError("N-API call failed");
}

bool isNullish(napi_env env, napi_value v) {
  napi_valuetype t;
  check(env, napi_typeof(env, v, &t));
  return t == napi_null || t == napi_undefined;
}

struct F32View {
  float* data;
  size_t length;
};

F32View float32Array(napi_env env, napi_value v, const char* name) {
  bool isTyped = false;
  check(env, napi_is_typedarray(env, v, &isTyped));
  if (!isTyped) throw ArgError(std::string(name) + " must be a Float32Array");
  napi_typedarray_type type;
  F32View view{};
  void* data = nullptr;
  check(env, napi_get_typedarray_info(env, v, &type, &view.length, &data, nullptr, nullptr));
  if (type != napi_float32_array) throw ArgError(std::string(name) + " must be a Float32Array");
  if (view.length == 0 || data == nullptr) throw ArgError(std::string(name) + " must not be empty");
  view.data = static_cast<float*>(data);
  return view;
}

// Dimensions are [batch, rows, cols], each a positive integer below 2^31.
void dims3(napi_env env, napi_value v, const char* name, int64_t out[3]) {
  bool isArray = false;
  check(env, napi_is_array(env, v, &isArray));
  uint32_t length = 0;
  if (isArray) check(env, napi_get_array_length(env, v, &length));
  if (!isArray || length != 3) throw ArgError(std::string(name) + " must be an array of 3 dimensions");
  for (uint32_t i = 0; i < 3; i++) {
    napi_value item;
    check(env, napi_get_element(env, v, i, &item));
    napi_valuetype t;
    check(env, napi_typeof(env, item, &t));
    double d = 0;
    if (t == napi_number) check(env, napi_get_value_double(env, item, &d));
    if (t != napi_number || !(d >= 1 && d <= INT32_MAX) || d != static_cast<double>(static_cast<int64_t>(d)))
      throw ArgError(std::string(name) + " must hold positive integers below 2^31");
    out[i] = static_cast<int64_t>(d);
  }
}

size_t sizeOf(const int64_t d[3], const char* name) {
  uint64_t size = 1;
  for (int i = 0; i < 3; i++)
    if (__builtin_mul_overflow(size, static_cast<uint64_t>(d[i]), &size) || size > (uint64_t{1} << 40))
      throw ArgError(std::string(name) + " is too large");
  return static_cast<size_t>(size);
}

void expectLength(const F32View& v, size_t size, const char* name) {
  if (v.length != size)
    throw ArgError(std::string(name) + " has " + std::to_string(v.length) + " values, its dimensions say " + std::to_string(size));
}

bool boolean(napi_env env, napi_value v, const char* name) {
  napi_valuetype t;
  check(env, napi_typeof(env, v, &t));
  if (t != napi_boolean) throw ArgError(std::string(name) + " must be a boolean");
  bool b = false;
  check(env, napi_get_value_bool(env, v, &b));
  return b;
}

double number(napi_env env, napi_value v, const char* name) {
  napi_valuetype t;
  check(env, napi_typeof(env, v, &t));
  if (t != napi_number) throw ArgError(std::string(name) + " must be a number");
  double d = 0;
  check(env, napi_get_value_double(env, v, &d));
  return d;
}

template <size_t N>
void arguments(napi_env env, napi_callback_info info, napi_value (&argv)[N]) {
  size_t argc = N;
  check(env, napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  if (argc != N) throw ArgError("expected " + std::to_string(N) + " arguments, got " + std::to_string(argc));
}

// Runs body, turning C++ exceptions into a pending JS exception (nothing may unwind into V8).
template <typename F>
napi_value guarded(napi_env env, F body) {
  try {
    return body();
  } catch (const dnnl::error& e) {
    napi_throw_error(env, nullptr, (std::string("oneDNN: ") + e.what()).c_str());
  } catch (const std::exception& e) {
    napi_throw_error(env, nullptr, e.what());
  }
  return nullptr;
}

napi_value newFloat32Array(napi_env env, size_t length, float** data) {
  napi_value buffer, array;
  void* raw = nullptr;
  check(env, napi_create_arraybuffer(env, length * sizeof(float), &raw, &buffer));
  check(env, napi_create_typedarray(env, napi_float32_array, length, buffer, 0, &array));
  *data = static_cast<float*>(raw);
  return array;
}

// matmul(a, aDims, b, bDims, transposeA, transposeB, bias | null, biasDims | null, activation, alpha) → Float32Array
// aDims/bDims are the stored [batch, rows, cols]; the product is [max(batchA, batchB), m, n].
napi_value MatMul(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    napi_value argv[10];
    arguments(env, info, argv);
    int64_t ad[3], bd[3], cd[3] = {0, 0, 0};
    F32View a = float32Array(env, argv[0], "a");
    dims3(env, argv[1], "aDims", ad);
    F32View b = float32Array(env, argv[2], "b");
    dims3(env, argv[3], "bDims", bd);
    MatMulProblem p{};
    p.transA = boolean(env, argv[4], "transposeA");
    p.transB = boolean(env, argv[5], "transposeB");
    expectLength(a, sizeOf(ad, "a"), "a");
    expectLength(b, sizeOf(bd, "b"), "b");
    p.batchA = ad[0];
    p.batchB = bd[0];
    p.m = p.transA ? ad[2] : ad[1];
    p.k = p.transA ? ad[1] : ad[2];
    const int64_t kb = p.transB ? bd[2] : bd[1];
    p.n = p.transB ? bd[1] : bd[2];
    if (p.k != kb) throw ArgError("inner dimensions differ: " + std::to_string(p.k) + " and " + std::to_string(kb));
    if (p.batchA != p.batchB && p.batchA != 1 && p.batchB != 1)
      throw ArgError("batch sizes " + std::to_string(p.batchA) + " and " + std::to_string(p.batchB) + " do not broadcast");
    const int64_t batch = p.batchA > p.batchB ? p.batchA : p.batchB;
    const float* bias = nullptr;
    if (isNullish(env, argv[6]) != isNullish(env, argv[7])) throw ArgError("bias and biasDims go together");
    if (!isNullish(env, argv[6])) {
      F32View bv = float32Array(env, argv[6], "bias");
      dims3(env, argv[7], "biasDims", cd);
      if ((cd[0] != 1 && cd[0] != batch) || (cd[1] != 1 && cd[1] != p.m) || (cd[2] != 1 && cd[2] != p.n))
        throw ArgError("biasDims do not broadcast to the product");
      expectLength(bv, sizeOf(cd, "bias"), "bias");
      bias = bv.data;
    }
    p.biasBatch = cd[0];
    p.biasM = cd[1];
    p.biasN = cd[2];
    const double act = number(env, argv[8], "activation");
    if (!(act >= 0 && act < static_cast<int>(Activation::Count)) || act != static_cast<int>(act))
      throw ArgError("activation must be an integer code below " + std::to_string(static_cast<int>(Activation::Count)));
    p.activation = static_cast<Activation>(static_cast<int>(act));
    p.alpha = static_cast<float>(number(env, argv[9], "alpha"));
    int64_t outDims[3] = {batch, p.m, p.n};
    float* out = nullptr;
    napi_value result = newFloat32Array(env, sizeOf(outDims, "product"), &out);
    specter2::matmul(p, a.data, b.data, bias, out);
    return result;
  });
}

napi_value SetThreads(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    napi_value argv[1];
    arguments(env, info, argv);
    const double n = number(env, argv[0], "threads");
    if (!(n >= 1 && n <= 1024) || n != static_cast<int>(n)) throw ArgError("threads must be an integer from 1 to 1024");
    if (!specter2::setThreads(static_cast<int>(n))) throw ArgError("this oneDNN build's threading runtime takes no thread count");
    return nullptr;
  });
}

napi_value Threads(napi_env env, napi_callback_info) {
  return guarded(env, [&]() -> napi_value {
    napi_value result;
    check(env, napi_create_int32(env, specter2::maxThreads(), &result));
    return result;
  });
}

napi_value Version(napi_env env, napi_callback_info) {
  return guarded(env, [&]() -> napi_value {
    const dnnl_version_t* v = dnnl_version();
    const std::string text = std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch);
    napi_value result;
    check(env, napi_create_string_utf8(env, text.c_str(), text.size(), &result));
    return result;
  });
}

// Exports are ordinary writable properties, as a JS module's are (tests spy on matmul).
napi_value Init(napi_env env, napi_value exports) {
  const napi_property_descriptor props[] = {
      {"matmul", nullptr, MatMul, nullptr, nullptr, nullptr, napi_default_jsproperty, nullptr},
      {"setThreads", nullptr, SetThreads, nullptr, nullptr, nullptr, napi_default_jsproperty, nullptr},
      {"threads", nullptr, Threads, nullptr, nullptr, nullptr, napi_default_jsproperty, nullptr},
      {"onednnVersion", nullptr, Version, nullptr, nullptr, nullptr, napi_default_jsproperty, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
