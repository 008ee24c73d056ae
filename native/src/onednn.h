// What the oneDNN kernels share: the CPU engine, a stream per calling thread, and the thread count.
#pragma once
#include <cstddef>
#include <map>
#include <mutex>

#include "oneapi/dnnl/dnnl.hpp"

namespace specter2 {

// The primitive descriptors whose constructors changed in oneDNN 3 (Homebrew ships 3.x, Debian 12 2.6).
void appendEltwise(dnnl::post_ops& ops, dnnl::algorithm alg, float alpha, float beta);
dnnl::matmul::primitive_desc matmulDesc(const dnnl::memory::desc& a, const dnnl::memory::desc& b, const dnnl::memory::desc& bias,
                                        const dnnl::memory::desc& out, const dnnl::primitive_attr& attr);
dnnl::softmax_forward::primitive_desc softmaxDesc(const dnnl::memory::desc& data, int axis);
dnnl::eltwise_forward::primitive_desc eltwiseDesc(dnnl::algorithm alg, const dnnl::memory::desc& data, float alpha, float beta);

dnnl::engine& cpuEngine();
// One per calling thread: worker threads may run primitives at the same time.
dnnl::stream& threadStream();

// Threads for a primitive of `flops` work: 1 below ~4 MFLOP, where a parallel region's start and
// barrier cost more than they save (far more when other processes share the cores); else maxThreads(). Sets it as the calling thread's
// OpenMP count, which oneDNN reads when a primitive runs.
int useThreadsFor(double flops);

// Threads oneDNN may use for the calls made from the calling thread; false where the runtime cannot say.
bool setThreads(int n);
int maxThreads();

// Primitives by problem, built once. Sequence lengths vary from batch to batch, so problems are many:
// the cache is bounded, dropping everything when full. The key must include the thread count: a oneDNN
// primitive runs with the count it was created for.
template <typename Key, typename Value>
class PrimitiveCache {
 public:
  template <typename Build>
  Value get(const Key& key, Build build) {
    std::lock_guard<std::mutex> guard(lock_);
    auto it = entries_.find(key);
    if (it != entries_.end()) return it->second;
    if (entries_.size() >= kMaxEntries) entries_.clear();
    return entries_.emplace(key, build()).first->second;
  }

 private:
  static constexpr size_t kMaxEntries = 512;
  std::map<Key, Value> entries_;
  std::mutex lock_;
};

}  // namespace specter2
