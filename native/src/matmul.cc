#include "matmul.h"

#include <map>
#include <mutex>
#include <tuple>
#include <unordered_map>

#include "oneapi/dnnl/dnnl.hpp"
#ifdef _OPENMP
#include <omp.h>
#endif

namespace specter2 {
namespace {

using dnnl::algorithm;
using dnnl::memory;

dnnl::engine& cpuEngine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

memory::desc operand(int64_t batch, int64_t rows, int64_t cols, bool transposed) {
  // A transposed operand is stored [batch, cols, rows]: expressed as strides, so nothing is copied.
  memory::dims strides = transposed ? memory::dims{rows * cols, 1, rows} : memory::dims{rows * cols, cols, 1};
  return memory::desc({batch, rows, cols}, memory::data_type::f32, strides);
}

dnnl::primitive_attr postOps(Activation act, float alpha) {
  dnnl::post_ops ops;
  switch (act) {
    case Activation::Linear: break;
    case Activation::Relu: ops.append_eltwise(1.f, algorithm::eltwise_relu, 0.f, 0.f); break;
    case Activation::Relu6: ops.append_eltwise(1.f, algorithm::eltwise_clip, 0.f, 6.f); break;
    case Activation::Elu: ops.append_eltwise(1.f, algorithm::eltwise_elu, 1.f, 0.f); break;
    case Activation::LeakyRelu: ops.append_eltwise(1.f, algorithm::eltwise_relu, alpha, 0.f); break;
    case Activation::Sigmoid: ops.append_eltwise(1.f, algorithm::eltwise_logistic, 0.f, 0.f); break;
    case Activation::GeluErf: ops.append_eltwise(1.f, algorithm::eltwise_gelu_erf, 0.f, 0.f); break;
    case Activation::Count: break;
  }
  dnnl::primitive_attr attr;
  attr.set_post_ops(ops);
  return attr;
}

// The thread count is part of the key: a oneDNN primitive must run with the count it was created for.
using Key = std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t, bool, bool, int64_t, int64_t, int64_t, int, float, int>;

Key keyOf(const MatMulProblem& p, int threads) {
  return {p.batchA, p.batchB, p.m, p.k, p.n, p.transA, p.transB, p.biasBatch, p.biasM, p.biasN,
          static_cast<int>(p.activation), p.alpha, threads};
}

int configuredThreads = 0;  // 0: the runtime's default (all cores, or OMP_NUM_THREADS)
#ifdef _OPENMP
// Read at load, before any call lowers the calling thread's OpenMP count.
const int defaultThreads = omp_get_max_threads();
#endif

// Below ~4 MFLOP a parallel region's start and barrier cost more than they save (measured: a 16×64×64
// product took 49 µs on one thread, 3.5 ms on two while other processes shared the cores).
constexpr double kParallelFlops = 4e6;

int threadsFor(const MatMulProblem& p) {
  const int64_t batch = p.batchA > p.batchB ? p.batchA : p.batchB;
  if (2.0 * batch * p.m * p.k * p.n < kParallelFlops) return 1;
  return maxThreads();
}

struct Cached {
  dnnl::matmul primitive;
  memory::desc a, b, bias, out;
};

// Sequence lengths vary from batch to batch, so shapes are many: bound the cache, dropping all when full.
constexpr size_t kMaxCached = 512;
std::map<Key, Cached> cache;
std::mutex cacheLock;

Cached build(const MatMulProblem& p) {
  const int64_t batch = p.batchA > p.batchB ? p.batchA : p.batchB;
  Cached c;
  c.a = operand(p.batchA, p.m, p.k, p.transA);
  c.b = operand(p.batchB, p.k, p.n, p.transB);
  c.out = memory::desc({batch, p.m, p.n}, memory::data_type::f32, memory::format_tag::abc);
  if (p.biasN > 0) c.bias = memory::desc({p.biasBatch, p.biasM, p.biasN}, memory::data_type::f32, memory::format_tag::abc);
  dnnl::matmul::desc desc(c.a, c.b, c.bias, c.out);
  c.primitive = dnnl::matmul(dnnl::matmul::primitive_desc(desc, postOps(p.activation, p.alpha), cpuEngine()));
  return c;
}

Cached lookup(const MatMulProblem& p, int threads) {
  const Key key = keyOf(p, threads);
  std::lock_guard<std::mutex> guard(cacheLock);
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  if (cache.size() >= kMaxCached) cache.clear();
  return cache.emplace(key, build(p)).first->second;
}

}  // namespace

void matmul(const MatMulProblem& p, const float* a, const float* b, const float* bias, float* out) {
  const int threads = threadsFor(p);
#ifdef _OPENMP
  omp_set_num_threads(threads);
#endif
  Cached c = lookup(p, threads);
  dnnl::engine& engine = cpuEngine();
  static dnnl::stream stream(engine);
  // oneDNN only reads inputs; its API takes non-const handles.
  std::unordered_map<int, memory> args = {
      {DNNL_ARG_SRC, memory(c.a, engine, const_cast<float*>(a))},
      {DNNL_ARG_WEIGHTS, memory(c.b, engine, const_cast<float*>(b))},
      {DNNL_ARG_DST, memory(c.out, engine, out)},
  };
  if (bias != nullptr) args.insert({DNNL_ARG_BIAS, memory(c.bias, engine, const_cast<float*>(bias))});
  c.primitive.execute(stream, args);
  stream.wait();
}

bool setThreads(int n) {
#ifdef _OPENMP
  configuredThreads = n;
  return true;
#else
  (void)n;
  return false;
#endif
}

int maxThreads() {
#ifdef _OPENMP
  return configuredThreads > 0 ? configuredThreads : defaultThreads;
#else
  return 0;
#endif
}

}  // namespace specter2
