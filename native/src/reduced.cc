#include "reduced.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "args.h"
#include "oneapi/dnnl/dnnl.hpp"
#include "onednn.h"
#include "parallel.h"

// The per-element loops (activation ranges, quantization, the per-row epilogue) are compiled for
// AVX-512 and AVX2 as well as the baseline, chosen at load by the CPU (GCC's function multiversioning):
// the addon is built without -march, for any x86-64.
#if defined(__x86_64__) && defined(__linux__) && defined(__GNUC__) && !defined(__clang__)
#define SPECTER2_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define SPECTER2_CLONES
#endif

namespace specter2 {
namespace {

using dnnl::algorithm;
using dnnl::memory;
using dt = memory::data_type;
using tag = memory::format_tag;

memory::desc plain(int64_t rows, int64_t cols, dt type) { return memory::desc({rows, cols}, type, tag::ab); }
dt weightType(Precision p) { return p == Precision::F32 ? dt::f32 : p == Precision::BF16 ? dt::bf16 : dt::s8; }
// u8, not s8: VNNI multiplies u8 by s8 natively, and an s8 source would need oneDNN's s8s8
// compensation in the weights; the asymmetric u8 range also fits skewed inputs (GELU's outputs).
dt sourceType(Precision p) { return p == Precision::F32 ? dt::f32 : p == Precision::BF16 ? dt::bf16 : dt::u8; }

// The weight layout oneDNN picks for products at this precision. It does not depend on the number of
// rows (checked for 1, 8, 37, 256 and 2048 rows: the same blocked layout), so one packed copy serves
// every batch; a primitive that wants another gets the weights reordered (matmulReduced).
memory::desc packedLayout(Precision p, int64_t k, int64_t n) {
  const memory::desc a = plain(128, k, sourceType(p)), w({k, n}, weightType(p), tag::any), o = plain(128, n, dt::f32);
  return matmulDesc(a, w, memory::desc(), o, dnnl::primitive_attr()).weights_desc();
}

struct Reduced {
  int64_t k = 0, n = 0;
  Precision precision = Precision::BF16;
  memory::desc layout;
  memory packed;
  std::vector<float> scale;      // int8: per output channel
  std::vector<float> columnSum;  // int8: Σ_k q[k, n] · scale[n], what the input's offset multiplies
  const void* owner = nullptr;
  size_t bytes() const { return layout.get_size() + (scale.size() + columnSum.size()) * sizeof(float); }
};

std::mutex reducedLock;
std::unordered_map<int64_t, std::shared_ptr<const Reduced>> weights;
int64_t nextId = 1;
size_t reducedTotal = 0;

std::shared_ptr<const Reduced> find(int64_t id) {
  std::lock_guard<std::mutex> guard(reducedLock);
  auto it = weights.find(id);
  if (it == weights.end()) throw ArgError("no reduced weight with id " + std::to_string(id) + " (dropped, or never packed)");
  return it->second;
}

void reorderInto(memory from, memory to) {
  dnnl::reorder(from, to).execute(threadStream(), from, to);
  threadStream().wait();
}

// --- element loops ---

// Lowest and highest value of x[0, n), and whether all are finite (x·0 is NaN exactly for ±Inf and NaN).
SPECTER2_CLONES void range(const float* x, int64_t n, float* lo, float* hi, bool* finite) {
  constexpr int L = 16;
  float l[L], h[L], z[L];
  for (int j = 0; j < L; j++) l[j] = std::numeric_limits<float>::infinity(), h[j] = -l[j], z[j] = 0.f;
  int64_t i = 0;
  for (; i + L <= n; i += L)
    for (int j = 0; j < L; j++) {
      const float v = x[i + j];
      l[j] = v < l[j] ? v : l[j];
      h[j] = v > h[j] ? v : h[j];
      z[j] += v * 0.f;
    }
  for (; i < n; i++) {
    l[0] = x[i] < l[0] ? x[i] : l[0];
    h[0] = x[i] > h[0] ? x[i] : h[0];
    z[0] += x[i] * 0.f;
  }
  float a = l[0], b = h[0], c = z[0];
  for (int j = 1; j < L; j++) a = l[j] < a ? l[j] : a, b = h[j] > b ? h[j] : b, c += z[j];
  *lo = a;
  *hi = b;
  *finite = c == 0.f;
}

// u = round((x - lo) · inv), in 0..levels (x ≥ lo, so the +0.5 and truncation round half up).
SPECTER2_CLONES void quantize(const float* x, int64_t n, float lo, float inv, float levels, uint8_t* u) {
  for (int64_t i = 0; i < n; i++) {
    float v = (x[i] - lo) * inv + 0.5f;
    v = v < levels ? v : levels;
    u[i] = static_cast<uint8_t>(static_cast<int>(v));
  }
}

// One row of the per-row product: out = out·s + lo·columnSum + bias.
SPECTER2_CLONES void rowEpilogue(float* out, int64_t n, float s, float lo, const float* columnSum, const float* bias) {
  if (bias != nullptr) {
    for (int64_t j = 0; j < n; j++) out[j] = out[j] * s + lo * columnSum[j] + bias[j];
  } else {
    for (int64_t j = 0; j < n; j++) out[j] = out[j] * s + lo * columnSum[j];
  }
}

// --- the products ---

using ReducedKey = std::tuple<int, int64_t, int64_t, int64_t, bool, int, float, int, int>;

struct ReducedPrimitive {
  dnnl::matmul primitive;
  memory::desc weights;  // the layout it reads the weights in (the packed one, unless it wanted another)
};

PrimitiveCache<ReducedKey, ReducedPrimitive> reducedCache;

ReducedPrimitive buildReduced(const Reduced& w, int64_t rows, bool bias, Activation act, float alpha, Int8Scales scales) {
  const memory::desc a = plain(rows, w.k, sourceType(w.precision)), o = plain(rows, w.n, dt::f32);
  dnnl::post_ops ops;
  memory::desc biasDesc;
  if (w.precision != Precision::Int8) {
    if (bias) biasDesc = plain(1, w.n, dt::f32);
    appendActivation(ops, act, alpha);
  } else {
    // int8 (oneDNN 2.x adds a bias before output scales, in the integer domain): the scales and the
    // bias as binary post-ops instead, per column, with values computed per call. Runtime output
    // scales would send the product to gemm:jit, per-row binary post-ops to the reference kernel.
    ops.append_binary(algorithm::binary_mul, plain(1, w.n, dt::f32));
    if (scales == Int8Scales::PerTensor) {
      ops.append_binary(algorithm::binary_add, plain(1, w.n, dt::f32));
      appendActivation(ops, act, alpha);
    }
  }
  dnnl::primitive_attr attr;
  attr.set_post_ops(ops);
  try {
    return {dnnl::matmul(matmulDesc(a, w.layout, biasDesc, o, attr)), w.layout};
  } catch (const dnnl::error&) {
    const dnnl::matmul::primitive_desc pd = matmulDesc(a, memory::desc({w.k, w.n}, weightType(w.precision), tag::any), biasDesc, o, attr);
    return {dnnl::matmul(pd), pd.weights_desc()};
  }
}

// Scratch buffers of the calling thread, grown as needed and kept (fresh pages cost more to fault
// in than the conversions take: src/backend/native/outputPool.ts).
template <typename T>
T* scratch(std::vector<T>& v, size_t n) {
  if (v.size() < n) v.resize(n);
  return v.data();
}

void applyActivation(Activation act, float alpha, float* data, int64_t rows, int64_t cols) {
  algorithm alg;
  float a = 0.f, b = 0.f;
  switch (act) {
    case Activation::Relu: alg = algorithm::eltwise_relu; break;
    case Activation::Relu6: alg = algorithm::eltwise_clip, b = 6.f; break;
    case Activation::Elu: alg = algorithm::eltwise_elu, a = 1.f; break;
    case Activation::LeakyRelu: alg = algorithm::eltwise_relu, a = alpha; break;
    case Activation::Sigmoid: alg = algorithm::eltwise_logistic; break;
    case Activation::GeluErf: alg = algorithm::eltwise_gelu_erf; break;
    default: return;
  }
  const memory::desc d = plain(rows, cols, dt::f32);
  const memory m(d, cpuEngine(), data);
  dnnl::eltwise_forward(eltwiseDesc(alg, d, a, b)).execute(threadStream(), {{DNNL_ARG_SRC, m}, {DNNL_ARG_DST, m}});
  threadStream().wait();
}

}  // namespace

int64_t packReduced(const float* b, int64_t k, int64_t n, Precision p, const void* owner) {
  if (p != Precision::F32 && p != Precision::BF16 && p != Precision::Int8) throw ArgError("precision must be fp32, bf16 or int8 for packed weights");
  const size_t values = static_cast<size_t>(k) * static_cast<size_t>(n);
  for (size_t i = 0; i < values; i++)
    if (!std::isfinite(b[i])) throw ArgError("weights to pack must be finite");
  auto r = std::make_shared<Reduced>();
  r->k = k;
  r->n = n;
  r->precision = p;
  r->owner = owner;
  r->layout = packedLayout(p, k, n);
  dnnl::engine& engine = cpuEngine();
  r->packed = memory(r->layout, engine);
  if (p != Precision::Int8) {
    // fp32: the same values in oneDNN's layout; bf16: oneDNN rounds f32 to bf16 to nearest even.
    reorderInto(memory(plain(k, n, dt::f32), engine, const_cast<float*>(b)), r->packed);
  } else {
    std::vector<float> maxAbs(n, 0.f);
    for (int64_t i = 0; i < k; i++)
      for (int64_t j = 0; j < n; j++) maxAbs[j] = std::max(maxAbs[j], std::fabs(b[i * n + j]));
    r->scale.resize(n);
    for (int64_t j = 0; j < n; j++) r->scale[j] = maxAbs[j] > 0.f ? maxAbs[j] / 127.f : 1.f;
    std::vector<int8_t> q(values);
    std::vector<int64_t> sums(n, 0);
    for (int64_t i = 0; i < k; i++)
      for (int64_t j = 0; j < n; j++) {
        // Division, not a reciprocal: values already on the grid (a stored int8 model, dequantized
        // at load) come back to exactly their integers.
        const float v = std::fmin(127.f, std::fmax(-127.f, std::nearbyint(b[i * n + j] / r->scale[j])));
        q[i * n + j] = static_cast<int8_t>(v);
        sums[j] += q[i * n + j];
      }
    r->columnSum.resize(n);
    for (int64_t j = 0; j < n; j++) r->columnSum[j] = static_cast<float>(sums[j]) * r->scale[j];
    reorderInto(memory(plain(k, n, dt::s8), engine, q.data()), r->packed);
  }
  std::lock_guard<std::mutex> guard(reducedLock);
  const int64_t id = nextId++;
  weights.emplace(id, r);
  reducedTotal += r->bytes();
  return id;
}

ReducedShape reducedShape(int64_t id) {
  const auto r = find(id);
  return {r->k, r->n, r->precision, r->bytes()};
}

void unpackReduced(int64_t id, float* out) {
  const auto r = find(id);
  dnnl::engine& engine = cpuEngine();
  if (r->precision != Precision::Int8) {
    reorderInto(r->packed, memory(plain(r->k, r->n, dt::f32), engine, out));
    return;
  }
  std::vector<int8_t> q(static_cast<size_t>(r->k) * r->n);
  reorderInto(r->packed, memory(plain(r->k, r->n, dt::s8), engine, q.data()));
  for (int64_t i = 0; i < r->k; i++)
    for (int64_t j = 0; j < r->n; j++) out[i * r->n + j] = static_cast<float>(q[i * r->n + j]) * r->scale[j];
}

void dropReduced(int64_t id) {
  std::lock_guard<std::mutex> guard(reducedLock);
  auto it = weights.find(id);
  if (it == weights.end()) return;
  reducedTotal -= it->second->bytes();
  weights.erase(it);
}

void dropReducedOwner(const void* owner) {
  std::lock_guard<std::mutex> guard(reducedLock);
  for (auto it = weights.begin(); it != weights.end();) {
    if (it->second->owner == owner) {
      reducedTotal -= it->second->bytes();
      it = weights.erase(it);
    } else {
      ++it;
    }
  }
}

size_t reducedBytes() {
  std::lock_guard<std::mutex> guard(reducedLock);
  return reducedTotal;
}

bool int8FullRange() {
  // vpmaddubsw (AVX2, AVX-512 without VNNI) adds pairs of u8·s8 products in saturating 16 bits:
  // 255·127·2 overflows it, 127·127·2 does not (PyTorch's reduce_range, for the same reason).
  switch (dnnl::get_effective_cpu_isa()) {
    case dnnl::cpu_isa::avx512_core_vnni:
    case dnnl::cpu_isa::avx512_core_bf16:
    case dnnl::cpu_isa::avx512_core_amx:
    case dnnl::cpu_isa::avx2_vnni: return true;
    default: return false;
  }
}

void matmulReduced(int64_t id, const float* a, int64_t rows, const float* bias, Activation act, float alpha, Int8Scales scales, float* out) {
  const auto w = find(id);
  const int64_t k = w->k, n = w->n;
  const int threads = useThreadsFor(2.0 * rows * k * n);
  const bool perRow = w->precision == Precision::Int8 && scales == Int8Scales::PerRow;
  const ReducedKey key{static_cast<int>(w->precision), rows, k, n, bias != nullptr, static_cast<int>(act), alpha, static_cast<int>(perRow), threads};
  const ReducedPrimitive c = reducedCache.get(key, [&] { return buildReduced(*w, rows, bias != nullptr, act, alpha, scales); });
  dnnl::engine& engine = cpuEngine();
  dnnl::stream& stream = threadStream();
  memory weightsMemory = w->packed;
  if (!(c.weights == w->layout)) {
    thread_local std::vector<uint8_t> other;
    weightsMemory = memory(c.weights, engine, scratch(other, c.weights.get_size()));
    reorderInto(w->packed, weightsMemory);
  }
  std::unordered_map<int, memory> args = {{DNNL_ARG_WEIGHTS, weightsMemory}, {DNNL_ARG_DST, memory(plain(rows, n, dt::f32), engine, out)}};

  if (w->precision == Precision::F32) {
    args.insert({DNNL_ARG_SRC, memory(plain(rows, k, dt::f32), engine, const_cast<float*>(a))});
    if (bias != nullptr) args.insert({DNNL_ARG_BIAS, memory(plain(1, n, dt::f32), engine, const_cast<float*>(bias))});
    c.primitive.execute(stream, args);
    stream.wait();
    return;
  }
  if (w->precision == Precision::BF16) {
    thread_local std::vector<uint16_t> src;
    const memory converted(plain(rows, k, dt::bf16), engine, scratch(src, static_cast<size_t>(rows) * k));
    reorderInto(memory(plain(rows, k, dt::f32), engine, const_cast<float*>(a)), converted);
    args.insert({DNNL_ARG_SRC, converted});
    if (bias != nullptr) args.insert({DNNL_ARG_BIAS, memory(plain(1, n, dt::f32), engine, const_cast<float*>(bias))});
    c.primitive.execute(stream, args);
    stream.wait();
    return;
  }

  // int8: each row's range, then (lo, s) per row or for the whole input.
  thread_local std::vector<float> rowLo, rowScale, mul, add;
  thread_local std::vector<uint8_t> src;
  thread_local std::vector<char> rowFinite;
  float* lo = scratch(rowLo, rows);
  float* s = scratch(rowScale, rows);
  float* hi = s;  // each row's high end, then its scale
  bool* finite = reinterpret_cast<bool*>(scratch(rowFinite, rows));
  parallelFor(rows, k, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; r++) range(a + r * k, k, &lo[r], &hi[r], &finite[r]);
  });
  for (int64_t r = 0; r < rows; r++)
    if (!finite[r]) {
      std::fill(out, out + rows * n, std::numeric_limits<float>::quiet_NaN());
      return;
    }
  const float levels = int8FullRange() ? 255.f : 127.f;
  if (!perRow) {
    float l = lo[0], h = hi[0];
    for (int64_t r = 1; r < rows; r++) l = std::min(l, lo[r]), h = std::max(h, hi[r]);
    for (int64_t r = 0; r < rows; r++) lo[r] = l, hi[r] = h;
  }
  for (int64_t r = 0; r < rows; r++) s[r] = (hi[r] - lo[r]) / levels;  // hi is s: the scale replaces it
  uint8_t* u = scratch(src, static_cast<size_t>(rows) * k);
  parallelFor(rows, k, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; r++) quantize(a + r * k, k, lo[r], s[r] > 0.f ? 1.f / s[r] : 0.f, levels, u + r * k);
  });
  args.insert({DNNL_ARG_SRC, memory(plain(rows, k, dt::u8), engine, u)});
  float* mulv = scratch(mul, n);
  float* addv = scratch(add, n);
  for (int64_t j = 0; j < n; j++) mulv[j] = perRow ? w->scale[j] : s[0] * w->scale[j];
  const memory mulMemory(plain(1, n, dt::f32), engine, mulv);
  args.insert({DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1, mulMemory});
  if (!perRow) {
    for (int64_t j = 0; j < n; j++) addv[j] = lo[0] * w->columnSum[j] + (bias != nullptr ? bias[j] : 0.f);
    args.insert({DNNL_ARG_ATTR_MULTIPLE_POST_OP(1) | DNNL_ARG_SRC_1, memory(plain(1, n, dt::f32), engine, addv)});
  }
  c.primitive.execute(stream, args);
  stream.wait();
  if (!perRow) return;
  parallelFor(rows, n, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; r++) rowEpilogue(out + r * n, n, s[r], lo[r], w->columnSum.data(), bias);
  });
  applyActivation(act, alpha, out, rows, n);
}

namespace {

memory::desc operand(int64_t batch, int64_t rows, int64_t cols, bool transposed, dt type) {
  memory::dims strides = transposed ? memory::dims{rows * cols, 1, rows} : memory::dims{rows * cols, cols, 1};
  return memory::desc({batch, rows, cols}, type, strides);
}

using Bf16Key = std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t, bool, bool, int64_t, int64_t, int64_t, int, float, int>;

struct Bf16Primitive {
  dnnl::matmul primitive;
  dnnl::reorder toA, toB;
  memory::desc a32, b32, a16, b16, bias, out;
};

PrimitiveCache<Bf16Key, Bf16Primitive> bf16Cache;

}  // namespace

void matmulBf16(const MatMulProblem& p, const float* a, const float* b, const float* bias, float* out) {
  const int64_t batch = p.batchA > p.batchB ? p.batchA : p.batchB;
  const int threads = useThreadsFor(2.0 * batch * p.m * p.k * p.n);
  const Bf16Key key{p.batchA, p.batchB, p.m, p.k, p.n, p.transA, p.transB, p.biasBatch, p.biasM, p.biasN, static_cast<int>(p.activation), p.alpha, threads};
  const Bf16Primitive c = bf16Cache.get(key, [&] {
    Bf16Primitive x;
    x.a32 = operand(p.batchA, p.m, p.k, p.transA, dt::f32);
    x.b32 = operand(p.batchB, p.k, p.n, p.transB, dt::f32);
    x.a16 = operand(p.batchA, p.m, p.k, p.transA, dt::bf16);
    x.b16 = operand(p.batchB, p.k, p.n, p.transB, dt::bf16);
    x.out = memory::desc({batch, p.m, p.n}, dt::f32, tag::abc);
    if (p.biasN > 0) x.bias = memory::desc({p.biasBatch, p.biasM, p.biasN}, dt::f32, tag::abc);
    dnnl::post_ops ops;
    appendActivation(ops, p.activation, p.alpha);
    dnnl::primitive_attr attr;
    attr.set_post_ops(ops);
    x.primitive = dnnl::matmul(matmulDesc(x.a16, x.b16, x.bias, x.out, attr));
    x.toA = dnnl::reorder(dnnl::reorder::primitive_desc(cpuEngine(), x.a32, cpuEngine(), x.a16));
    x.toB = dnnl::reorder(dnnl::reorder::primitive_desc(cpuEngine(), x.b32, cpuEngine(), x.b16));
    return x;
  });
  dnnl::engine& engine = cpuEngine();
  dnnl::stream& stream = threadStream();
  thread_local std::vector<uint16_t> aBuffer, bBuffer;
  const memory a16(c.a16, engine, scratch(aBuffer, c.a16.get_size() / 2));
  const memory b16(c.b16, engine, scratch(bBuffer, c.b16.get_size() / 2));
  c.toA.execute(stream, {{DNNL_ARG_FROM, memory(c.a32, engine, const_cast<float*>(a))}, {DNNL_ARG_TO, a16}});
  c.toB.execute(stream, {{DNNL_ARG_FROM, memory(c.b32, engine, const_cast<float*>(b))}, {DNNL_ARG_TO, b16}});
  std::unordered_map<int, memory> args = {{DNNL_ARG_SRC, a16}, {DNNL_ARG_WEIGHTS, b16}, {DNNL_ARG_DST, memory(c.out, engine, out)}};
  if (bias != nullptr) args.insert({DNNL_ARG_BIAS, memory(c.bias, engine, const_cast<float*>(bias))});
  c.primitive.execute(stream, args);
  stream.wait();
}

std::string implName(Precision p) {
  const int64_t m = 256, k = 768, n = 3072;
  try {
    dnnl::primitive_attr attr;
    if (p == Precision::Int8) {
      dnnl::post_ops ops;
      ops.append_binary(algorithm::binary_mul, plain(1, n, dt::f32));
      ops.append_binary(algorithm::binary_add, plain(1, n, dt::f32));
      attr.set_post_ops(ops);
    }
    const dt src = p == Precision::F32 ? dt::f32 : sourceType(p);
    const dt wei = p == Precision::F32 ? dt::f32 : weightType(p);
    return matmulDesc(plain(m, k, src), memory::desc({k, n}, wei, tag::any), memory::desc(), plain(m, n, dt::f32), attr).impl_info_str();
  } catch (const dnnl::error& e) {
    return std::string("unsupported: ") + e.what();
  }
}

std::string cpuIsa() {
  switch (dnnl::get_effective_cpu_isa()) {
    case dnnl::cpu_isa::sse41: return "sse41";
    case dnnl::cpu_isa::avx: return "avx";
    case dnnl::cpu_isa::avx2: return "avx2";
    case dnnl::cpu_isa::avx2_vnni: return "avx2_vnni";
    case dnnl::cpu_isa::avx512_core: return "avx512_core";
    case dnnl::cpu_isa::avx512_core_vnni: return "avx512_core_vnni";
    case dnnl::cpu_isa::avx512_core_bf16: return "avx512_core_bf16";
    case dnnl::cpu_isa::avx512_core_amx: return "avx512_core_amx";
    default: return "other";
  }
}

}  // namespace specter2
