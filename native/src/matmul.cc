#include "matmul.h"

#include <tuple>
#include <unordered_map>

#include "oneapi/dnnl/dnnl.hpp"
#include "onednn.h"

namespace specter2 {
namespace {

using dnnl::algorithm;
using dnnl::memory;

memory::desc operand(int64_t batch, int64_t rows, int64_t cols, bool transposed) {
  // A transposed operand is stored [batch, cols, rows]: expressed as strides, so nothing is copied.
  memory::dims strides = transposed ? memory::dims{rows * cols, 1, rows} : memory::dims{rows * cols, cols, 1};
  return memory::desc({batch, rows, cols}, memory::data_type::f32, strides);
}

}  // namespace

void appendActivation(dnnl::post_ops& ops, Activation act, float alpha) {
  switch (act) {
    case Activation::Linear: break;
    case Activation::Relu: appendEltwise(ops, algorithm::eltwise_relu, 0.f, 0.f); break;
    case Activation::Relu6: appendEltwise(ops, algorithm::eltwise_clip, 0.f, 6.f); break;
    case Activation::Elu: appendEltwise(ops, algorithm::eltwise_elu, 1.f, 0.f); break;
    case Activation::LeakyRelu: appendEltwise(ops, algorithm::eltwise_relu, alpha, 0.f); break;
    case Activation::Sigmoid: appendEltwise(ops, algorithm::eltwise_logistic, 0.f, 0.f); break;
    case Activation::GeluErf: appendEltwise(ops, algorithm::eltwise_gelu_erf, 0.f, 0.f); break;
    case Activation::Count: break;
  }
}

namespace {

dnnl::primitive_attr postOps(Activation act, float alpha) {
  dnnl::post_ops ops;
  appendActivation(ops, act, alpha);
  dnnl::primitive_attr attr;
  attr.set_post_ops(ops);
  return attr;
}

using Key = std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t, bool, bool, int64_t, int64_t, int64_t, int, float, int>;

Key keyOf(const MatMulProblem& p, int threads) {
  return {p.batchA, p.batchB, p.m, p.k, p.n, p.transA, p.transB, p.biasBatch, p.biasM, p.biasN,
          static_cast<int>(p.activation), p.alpha, threads};
}

struct Cached {
  dnnl::matmul primitive;
  memory::desc a, b, bias, out;
};

PrimitiveCache<Key, Cached> cache;

Cached build(const MatMulProblem& p) {
  const int64_t batch = p.batchA > p.batchB ? p.batchA : p.batchB;
  Cached c;
  c.a = operand(p.batchA, p.m, p.k, p.transA);
  c.b = operand(p.batchB, p.k, p.n, p.transB);
  c.out = memory::desc({batch, p.m, p.n}, memory::data_type::f32, memory::format_tag::abc);
  if (p.biasN > 0) c.bias = memory::desc({p.biasBatch, p.biasM, p.biasN}, memory::data_type::f32, memory::format_tag::abc);
  c.primitive = dnnl::matmul(matmulDesc(c.a, c.b, c.bias, c.out, postOps(p.activation, p.alpha)));
  return c;
}

}  // namespace

void matmul(const MatMulProblem& p, const float* a, const float* b, const float* bias, float* out) {
  const int64_t batch = p.batchA > p.batchB ? p.batchA : p.batchB;
  const int threads = useThreadsFor(2.0 * batch * p.m * p.k * p.n);
  Cached c = cache.get(keyOf(p, threads), [&] { return build(p); });
  dnnl::engine& engine = cpuEngine();
  dnnl::stream& stream = threadStream();
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

}  // namespace specter2
