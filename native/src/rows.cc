#include "rows.h"

#include <cmath>
#include <tuple>

#include "onednn.h"
#include "parallel.h"

namespace specter2 {

void softmax(const float* x, int64_t rows, int64_t cols, float* out) {
  // oneDNN's: its exp is vectorised (std::exp is not), ~6× faster on [8·12·256, 256] scores.
  const int threads = useThreadsFor(10.0 * rows * cols);
  const auto key = std::make_tuple(rows, cols, threads);
  static PrimitiveCache<decltype(key), dnnl::softmax_forward> cache;
  const dnnl::memory::desc desc({rows, cols}, dnnl::memory::data_type::f32, dnnl::memory::format_tag::ab);
  dnnl::softmax_forward primitive = cache.get(key, [&] { return dnnl::softmax_forward(softmaxDesc(desc, 1)); });
  dnnl::engine& engine = cpuEngine();
  primitive.execute(threadStream(), {{DNNL_ARG_SRC, dnnl::memory(desc, engine, const_cast<float*>(x))}, {DNNL_ARG_DST, dnnl::memory(desc, engine, out)}});
  threadStream().wait();
}

void reduce(ReduceOp op, const float* x, int64_t rows, int64_t cols, float* out) {
  parallelFor(rows, cols, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; r++) {
      const float* in = x + r * cols;
      if (op == ReduceOp::Max) {
        // NaN wins, as Math.max in tfjs-backend-cpu.
        float max = in[0];
        for (int64_t c = 1; c < cols && !std::isnan(max); c++) max = std::isnan(in[c]) || in[c] > max ? in[c] : max;
        out[r] = max;
        continue;
      }
      // 16 float partial sums (vectorised; each adds cols/16 terms, so rounding stays at the level of
      // a 48-term sum for 768 columns), combined in double.
      float lanes[16] = {};
      int64_t c = 0;
      for (; c + 16 <= cols; c += 16)
        for (int l = 0; l < 16; l++) lanes[l] += in[c + l];
      double sum = 0;
      for (float lane : lanes) sum += lane;
      for (; c < cols; c++) sum += in[c];
      out[r] = static_cast<float>(op == ReduceOp::Mean ? sum / static_cast<double>(cols) : sum);
    }
  });
}

}  // namespace specter2
