// Splitting a loop of `count` items (each `cost` values of work) over the OpenMP threads oneDNN also
// uses; small loops stay on the calling thread, where a parallel region's start would cost more.
#pragma once
#include <cstdint>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "onednn.h"

namespace specter2 {

// Below this many values touched, one thread: a region's start and barrier cost a few µs.
constexpr int64_t kParallelValues = 1 << 15;

template <class Body>
void parallelFor(int64_t count, int64_t cost, Body body) {
#ifdef _OPENMP
  const int threads = maxThreads();
  if (threads > 1 && count > 1 && count * cost >= kParallelValues) {
#pragma omp parallel num_threads(threads)
    {
      const int t = omp_get_thread_num(), n = omp_get_num_threads();
      const int64_t begin = count * t / n, end = count * (t + 1) / n;
      if (begin < end) body(begin, end);
    }
    return;
  }
#endif
  body(0, count);
}

}  // namespace specter2
