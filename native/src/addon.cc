// N-API entry points. Every argument is checked here (args.h), so a bad call from JS throws instead of
// reading or writing out of bounds; oneDNN failures come back as JS errors too.
#include <dlfcn.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <node_api.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "args.h"
#include "elementwise.h"
#include "matmul.h"
#include "onednn.h"
#include "oneapi/dnnl/dnnl.hpp"
#include "reduced.h"
#include "rows.h"
#include "transpose.h"

namespace {

using namespace specter2;

constexpr int kMaxRank = 8;

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

// Dimensions are [batch, rows, cols], each a positive integer below 2^31.
void dims3(napi_env env, napi_value v, const char* name, int64_t out[3]) {
  const std::vector<int64_t> d = integers(env, v, name, 3, 3, 1);
  for (int i = 0; i < 3; i++) out[i] = d[i];
}

size_t sizeOf3(const int64_t d[3], const char* name) { return sizeOf({d[0], d[1], d[2]}, name); }

// The caller's output array (recycled by the backend, src/backend/native/outputPool.ts), of exactly
// the length the result needs.
float* output(napi_env env, napi_value v, size_t length) {
  const F32View out = float32Array(env, v, "out");
  expectLength(out, length, "out");
  return out.data;
}

// A float32 array with its shape: rank ≤ 8, positive dims whose product is the array's length.
struct Shaped {
  F32View view;
  std::vector<int64_t> shape;
};

Shaped shaped(napi_env env, napi_value values, napi_value shape, const char* name) {
  Shaped s{float32Array(env, values, name), integers(env, shape, (std::string(name) + "Shape").c_str(), -1, kMaxRank, 1)};
  expectLength(s.view, sizeOf(s.shape, name), name);
  return s;
}

// The product problem of matmul's first 10 arguments (a, aDims, b, bDims, transposeA, transposeB,
// bias, biasDims, activation, alpha), checked; sets the operands and the product's length.
MatMulProblem problemOf(napi_env env, napi_value* argv, const float*& a, const float*& b, const float*& bias, size_t& outLength) {
  int64_t ad[3], bd[3], cd[3] = {0, 0, 0};
  F32View av = float32Array(env, argv[0], "a");
  dims3(env, argv[1], "aDims", ad);
  F32View bv = float32Array(env, argv[2], "b");
  dims3(env, argv[3], "bDims", bd);
  MatMulProblem p{};
  p.transA = boolean(env, argv[4], "transposeA");
  p.transB = boolean(env, argv[5], "transposeB");
  expectLength(av, sizeOf3(ad, "a"), "a");
  expectLength(bv, sizeOf3(bd, "b"), "b");
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
  bias = nullptr;
  if (isNullish(env, argv[6]) != isNullish(env, argv[7])) throw ArgError("bias and biasDims go together");
  if (!isNullish(env, argv[6])) {
    F32View biasView = float32Array(env, argv[6], "bias");
    dims3(env, argv[7], "biasDims", cd);
    if ((cd[0] != 1 && cd[0] != batch) || (cd[1] != 1 && cd[1] != p.m) || (cd[2] != 1 && cd[2] != p.n))
      throw ArgError("biasDims do not broadcast to the product");
    expectLength(biasView, sizeOf3(cd, "bias"), "bias");
    bias = biasView.data;
  }
  p.biasBatch = cd[0];
  p.biasM = cd[1];
  p.biasN = cd[2];
  p.activation = static_cast<Activation>(code(env, argv[8], "activation", static_cast<int>(Activation::Count)));
  p.alpha = static_cast<float>(number(env, argv[9], "alpha"));
  int64_t outDims[3] = {batch, p.m, p.n};
  outLength = sizeOf3(outDims, "product");
  a = av.data;
  b = bv.data;
  return p;
}

using Product = void (*)(const MatMulProblem&, const float*, const float*, const float*, float*);

// A product's binding: matmul's 10 arguments (problemOf), then out; `product` computes it.
template <Product product>
napi_value ProductOf(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    napi_value argv[11];
    arguments(env, info, argv);
    const float *a, *b, *bias;
    size_t length;
    const MatMulProblem p = problemOf(env, argv, a, b, bias, length);
    product(p, a, b, bias, output(env, argv[10], length));
    return nullptr;
  });
}

// matmul(a, aDims, b, bDims, transposeA, transposeB, bias | null, biasDims | null, activation, alpha, out)
// aDims/bDims are the stored [batch, rows, cols]; the product is [max(batchA, batchB), m, n].
// matmulBf16(the same): both operands rounded to bf16, accumulated and written in f32.
napi_value MatMul(napi_env env, napi_callback_info info) { return ProductOf<specter2::matmul>(env, info); }
napi_value MatMulBf16(napi_env env, napi_callback_info info) { return ProductOf<specter2::matmulBf16>(env, info); }

// An id that packReduced returned: a positive integer.
int64_t reducedId(napi_env env, napi_value v) {
  const double d = number(env, v, "id");
  if (!(d >= 1 && d <= 9007199254740991.0) || d != static_cast<double>(static_cast<int64_t>(d))) throw ArgError("id must be a positive integer");
  return static_cast<int64_t>(d);
}

// packReduced(b, [k, n], precision) → id: b (row-major [k, n]) packed as bf16 or int8 weights.
napi_value PackReduced(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    napi_value argv[3];
    arguments(env, info, argv);
    const F32View b = float32Array(env, argv[0], "b");
    const std::vector<int64_t> kn = integers(env, argv[1], "dims", 2, 2, 1);
    expectLength(b, sizeOf(kn, "b"), "b");
    const auto p = static_cast<Precision>(code(env, argv[2], "precision", static_cast<int>(Precision::Count)));
    const int64_t id = specter2::packReduced(b.data, kn[0], kn[1], p, env);
    napi_value result;
    check(napi_create_double(env, static_cast<double>(id), &result));
    return result;
  });
}

// unpackReduced(id, out): the values the packed weight multiplies by, row-major [k, n].
napi_value UnpackReduced(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    napi_value argv[2];
    arguments(env, info, argv);
    const ReducedShape s = specter2::reducedShape(reducedId(env, argv[0]));
    specter2::unpackReduced(reducedId(env, argv[0]), output(env, argv[1], static_cast<size_t>(s.k * s.n)));
    return nullptr;
  });
}

napi_value DropReduced(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    napi_value argv[1];
    arguments(env, info, argv);
    specter2::dropReduced(reducedId(env, argv[0]));
    return nullptr;
  });
}

napi_value ReducedBytes(napi_env env, napi_callback_info) {
  return guarded(env, [&]() -> napi_value {
    napi_value result;
    check(napi_create_double(env, static_cast<double>(specter2::reducedBytes()), &result));
    return result;
  });
}

// matmulReduced(id, a, aDims, bias | null, activation, alpha, int8Scales, out): out [batch, m, n] =
// act(a · W + bias) with W the packed weight, a stored [batch, m, k] (untransposed), bias of n values.
napi_value MatMulReduced(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    napi_value argv[8];
    arguments(env, info, argv);
    const int64_t id = reducedId(env, argv[0]);
    const ReducedShape s = specter2::reducedShape(id);
    const F32View a = float32Array(env, argv[1], "a");
    int64_t ad[3];
    dims3(env, argv[2], "aDims", ad);
    expectLength(a, sizeOf3(ad, "a"), "a");
    if (ad[2] != s.k) throw ArgError("inner dimensions differ: " + std::to_string(ad[2]) + " and " + std::to_string(s.k));
    const float* bias = nullptr;
    if (!isNullish(env, argv[3])) {
      const F32View bv = float32Array(env, argv[3], "bias");
      expectLength(bv, static_cast<size_t>(s.n), "bias");
      bias = bv.data;
    }
    const auto act = static_cast<Activation>(code(env, argv[4], "activation", static_cast<int>(Activation::Count)));
    const auto alpha = static_cast<float>(number(env, argv[5], "alpha"));
    const auto scales = static_cast<Int8Scales>(code(env, argv[6], "int8Scales", static_cast<int>(Int8Scales::Count)));
    const int64_t rows = ad[0] * ad[1];
    const int64_t outDims[3] = {1, rows, s.n};
    specter2::matmulReduced(id, a.data, rows, bias, act, alpha, scales, output(env, argv[7], sizeOf3(outDims, "product")));
    return nullptr;
  });
}

napi_value setString(napi_env env, napi_value object, const char* key, const std::string& value) {
  napi_value v;
  check(napi_create_string_utf8(env, value.c_str(), value.size(), &v));
  check(napi_set_named_property(env, object, key, v));
  return object;
}

// precisionInfo() → { isa, int8FullRange, f32, bf16, int8 }: oneDNN's effective ISA and the implementation a
// product of each precision gets here.
napi_value PrecisionInfo(napi_env env, napi_callback_info) {
  return guarded(env, [&]() -> napi_value {
    napi_value result, full;
    check(napi_create_object(env, &result));
    setString(env, result, "isa", specter2::cpuIsa());
    check(napi_get_boolean(env, specter2::int8FullRange(), &full));
    check(napi_set_named_property(env, result, "int8FullRange", full));
    setString(env, result, "f32", specter2::implName(Precision::F32));
    setString(env, result, "bf16", specter2::implName(Precision::BF16));
    setString(env, result, "int8", specter2::implName(Precision::Int8));
    return result;
  });
}

// binary(op, a, aShape, b, bShape, out): out (the broadcast shape) = op(a, b).
napi_value Binary(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    napi_value argv[6];
    arguments(env, info, argv);
    const auto op = static_cast<BinaryOp>(code(env, argv[0], "op", static_cast<int>(BinaryOp::Count)));
    const Shaped a = shaped(env, argv[1], argv[2], "a");
    const Shaped b = shaped(env, argv[3], argv[4], "b");
    std::vector<int64_t> outShape;
    if (!broadcastShape(a.shape, b.shape, outShape)) throw ArgError("the shapes of a and b do not broadcast");
    float* out = output(env, argv[5], sizeOf(outShape, "the result"));
    binary(op, a.view.data, a.shape, b.view.data, b.shape, out);
    return nullptr;
  });
}

// unary(op, x, out): out = op(x), element by element.
napi_value Unary(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    napi_value argv[3];
    arguments(env, info, argv);
    const auto op = static_cast<UnaryOp>(code(env, argv[0], "op", static_cast<int>(UnaryOp::Count)));
    const F32View x = float32Array(env, argv[1], "x");
    unary(op, x.data, x.length, output(env, argv[2], x.length));
    return nullptr;
  });
}

// The [rows, cols] view of x that softmax and reduce take.
F32View rowsOf(napi_env env, napi_value values, napi_value dims, int64_t& rows, int64_t& cols) {
  const F32View x = float32Array(env, values, "x");
  const std::vector<int64_t> rc = integers(env, dims, "dims", 2, 2, 1);
  rows = rc[0];
  cols = rc[1];
  expectLength(x, sizeOf(rc, "x"), "x");
  return x;
}

// softmax(x, [rows, cols], out): softmax over each row.
napi_value Softmax(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    napi_value argv[3];
    arguments(env, info, argv);
    int64_t rows, cols;
    const F32View x = rowsOf(env, argv[0], argv[1], rows, cols);
    softmax(x.data, rows, cols, output(env, argv[2], x.length));
    return nullptr;
  });
}

// reduce(op, x, [rows, cols], out): out[r] = op over row r.
napi_value Reduce(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    napi_value argv[4];
    arguments(env, info, argv);
    const auto op = static_cast<ReduceOp>(code(env, argv[0], "op", static_cast<int>(ReduceOp::Count)));
    int64_t rows, cols;
    const F32View x = rowsOf(env, argv[1], argv[2], rows, cols);
    reduce(op, x.data, rows, cols, output(env, argv[3], static_cast<size_t>(rows)));
    return nullptr;
  });
}

// transpose(x, shape, perm, out): axis i of out is x's axis perm[i].
napi_value Transpose(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    napi_value argv[4];
    arguments(env, info, argv);
    const Shaped x = shaped(env, argv[0], argv[1], "x");
    const std::vector<int64_t> perm = integers(env, argv[2], "perm", static_cast<int>(x.shape.size()), kMaxRank, 0);
    std::vector<bool> seen(perm.size(), false);
    for (int64_t p : perm) {
      if (p >= static_cast<int64_t>(perm.size()) || seen[p]) throw ArgError("perm must be a permutation of the axes of x");
      seen[p] = true;
    }
    transpose(x.view.data, x.shape, perm, output(env, argv[3], x.view.length));
    return nullptr;
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
    check(napi_create_int32(env, specter2::maxThreads(), &result));
    return result;
  });
}

napi_value Version(napi_env env, napi_callback_info) {
  return guarded(env, [&]() -> napi_value {
    const dnnl_version_t* v = dnnl_version();
    const std::string text = std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch);
    napi_value result;
    check(napi_create_string_utf8(env, text.c_str(), text.size(), &result));
    return result;
  });
}

// Keeps this addon, and with it libdnnl and libgomp, loaded until the process ends.
//
// Node dlclose()s an addon when the last environment that loaded it is torn down, and with a worker pool
// that is a worker: the workers load the addon, the main thread never does. A worker that ended soon
// after a parallel kernel (a model that failed to load after its base weights went through the native
// kernels) unmapped the addon, libdnnl and libgomp under its OpenMP threads, still in libgomp code
// (spinning at the end of a region, or asleep in it), and libgomp's destructor only deletes its thread
// key, so nothing retires or joins them: the first to run again faults on an unmapped page. SIGSEGV in
// most runs of `embed` or `serve --workers 1` on a bad model directory, often before the error was
// written (test/native/failedLoad.test.ts). (A worker that had
// run a oneDNN primitive was spared by accident: glibc keeps a library with pending thread_local
// destructors, the stream's, loaded.)
//
// Pinned, teardown is safe in every order: when a worker's thread exits, libgomp's thread destructor
// hands its pool threads their exit and waits for them at a barrier, in code that stays mapped. Retiring
// the pool from an env cleanup hook instead (omp_pause_resource_all, which joins the calling thread's
// pool) would cover libgomp's threads only, and still unload and reload libdnnl with every worker, which
// oneDNN does not promise to survive. The process-wide state (primitive caches, the engine) is then
// freed by exit() alone, after Node has stopped and joined every worker (process.exit and a normal end
// both do that first), so no kernel runs while static destructors do; a worker's packed weights go with
// its environment (the cleanup hook in Init). Linux links with -z nodelete as well (binding.gyp); this
// covers macOS and a build without it. The handle is deliberately never closed.
void pinInMemory() {
  Dl_info self{};
  if (dladdr(reinterpret_cast<void*>(&pinInMemory), &self) != 0 && self.dli_fname != nullptr)
    dlopen(self.dli_fname, RTLD_LAZY | RTLD_NOLOAD | RTLD_NODELETE);
}

// Exports are ordinary writable properties, as a JS module's are (tests spy on matmul).
// trimMemory(): hands the heap's free pages back to the system (glibc's malloc_trim; elsewhere nothing). glibc keeps
// freed blocks below its mmap threshold (which rises to 32 MiB as large blocks are freed) in the heap, resident:
// after a model load, whose megabyte-sized buffers are freed once their weights are packed, a good part of the model's
// RSS. A fixed low threshold instead made every transient buffer of the forward pass fault in its pages again (the
// first passes several times slower), so the heap is trimmed at the moments memory was let go.
napi_value TrimMemory(napi_env env, napi_callback_info) {
  return guarded(env, [&]() -> napi_value {
#if defined(__GLIBC__)
    malloc_trim(0);
#endif
    return nullptr;
  });
}

napi_value Init(napi_env env, napi_value exports) {
  pinInMemory();
  const napi_property_descriptor props[] = {
      {"matmul", nullptr, MatMul, nullptr, nullptr, nullptr, napi_default_jsproperty, nullptr},
      {"binary", nullptr, Binary, nullptr, nullptr, nullptr, napi_default_jsproperty, nullptr},
      {"unary", nullptr, Unary, nullptr, nullptr, nullptr, napi_default_jsproperty, nullptr},
      {"softmax", nullptr, Softmax, nullptr, nullptr, nullptr, napi_default_jsproperty, nullptr},
      {"reduce", nullptr, Reduce, nullptr, nullptr, nullptr, napi_default_jsproperty, nullptr},
      {"transpose", nullptr, Transpose, nullptr, nullptr, nullptr, napi_default_jsproperty, nullptr},
      {"setThreads", nullptr, SetThreads, nullptr, nullptr, nullptr, napi_default_jsproperty, nullptr},
      {"threads", nullptr, Threads, nullptr, nullptr, nullptr, napi_default_jsproperty, nullptr},
      {"onednnVersion", nullptr, Version, nullptr, nullptr, nullptr, napi_default_jsproperty, nullptr},
      {"matmulBf16", nullptr, MatMulBf16, nullptr, nullptr, nullptr, napi_default_jsproperty, nullptr},
      {"packReduced", nullptr, PackReduced, nullptr, nullptr, nullptr, napi_default_jsproperty, nullptr},
      {"unpackReduced", nullptr, UnpackReduced, nullptr, nullptr, nullptr, napi_default_jsproperty, nullptr},
      {"dropReduced", nullptr, DropReduced, nullptr, nullptr, nullptr, napi_default_jsproperty, nullptr},
      {"reducedBytes", nullptr, ReducedBytes, nullptr, nullptr, nullptr, napi_default_jsproperty, nullptr},
      {"matmulReduced", nullptr, MatMulReduced, nullptr, nullptr, nullptr, napi_default_jsproperty, nullptr},
      {"precisionInfo", nullptr, PrecisionInfo, nullptr, nullptr, nullptr, napi_default_jsproperty, nullptr},
      {"trimMemory", nullptr, TrimMemory, nullptr, nullptr, nullptr, napi_default_jsproperty, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  // A worker's environment may end without its model disposed: its packed weights go with it.
  napi_add_env_cleanup_hook(env, [](void* owner) { specter2::dropReducedOwner(owner); }, env);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
