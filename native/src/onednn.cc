#include "onednn.h"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace specter2 {
namespace {

int configuredThreads = 0;  // 0: the runtime's default (all cores, or OMP_NUM_THREADS)
#ifdef _OPENMP
// Read at load, before any call lowers the calling thread's OpenMP count.
const int defaultThreads = omp_get_max_threads();
#endif

constexpr double kParallelFlops = 4e6;

}  // namespace

void appendEltwise(dnnl::post_ops& ops, dnnl::algorithm alg, float alpha, float beta) {
#if DNNL_VERSION_MAJOR >= 3
  ops.append_eltwise(alg, alpha, beta);
#else
  ops.append_eltwise(1.f, alg, alpha, beta);
#endif
}

dnnl::matmul::primitive_desc matmulDesc(const dnnl::memory::desc& a, const dnnl::memory::desc& b, const dnnl::memory::desc& bias,
                                        const dnnl::memory::desc& out, const dnnl::primitive_attr& attr) {
#if DNNL_VERSION_MAJOR >= 3
  return dnnl::matmul::primitive_desc(cpuEngine(), a, b, bias, out, attr);
#else
  return dnnl::matmul::primitive_desc(dnnl::matmul::desc(a, b, bias, out), attr, cpuEngine());
#endif
}

dnnl::softmax_forward::primitive_desc softmaxDesc(const dnnl::memory::desc& data, int axis) {
#if DNNL_VERSION_MAJOR >= 3
  return dnnl::softmax_forward::primitive_desc(cpuEngine(), dnnl::prop_kind::forward_inference, dnnl::algorithm::softmax_accurate, data, data, axis);
#else
  return dnnl::softmax_forward::primitive_desc(dnnl::softmax_forward::desc(dnnl::prop_kind::forward_inference, data, axis), cpuEngine());
#endif
}

dnnl::eltwise_forward::primitive_desc eltwiseDesc(dnnl::algorithm alg, const dnnl::memory::desc& data, float alpha, float beta) {
#if DNNL_VERSION_MAJOR >= 3
  return dnnl::eltwise_forward::primitive_desc(cpuEngine(), dnnl::prop_kind::forward_inference, alg, data, data, alpha, beta);
#else
  return dnnl::eltwise_forward::primitive_desc(dnnl::eltwise_forward::desc(dnnl::prop_kind::forward_inference, alg, data, alpha, beta), cpuEngine());
#endif
}

dnnl::engine& cpuEngine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

dnnl::stream& threadStream() {
  thread_local dnnl::stream stream(cpuEngine());
  return stream;
}

int useThreadsFor(double flops) {
  const int threads = flops < kParallelFlops ? 1 : maxThreads();
#ifdef _OPENMP
  omp_set_num_threads(threads);
#endif
  return threads;
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
