#include "transpose.h"

#include <cstring>

#include "parallel.h"

namespace specter2 {

void transpose(const float* x, const std::vector<int64_t>& shape, const std::vector<int64_t>& perm, float* out) {
  const size_t rank = shape.size();
  std::vector<int64_t> inStrides(rank, 1);
  for (size_t i = rank; i-- > 1;) inStrides[i - 1] = inStrides[i] * shape[i];
  // Output axes with their extents and input strides; size-1 axes dropped and neighbours that stay
  // neighbours in the input merged, so [b, s, h, d] → [b, h, s, d] copies runs of d values.
  std::vector<int64_t> dims, strides;
  for (size_t i = 0; i < rank; i++) {
    const int64_t d = shape[perm[i]], s = inStrides[perm[i]];
    if (d == 1) continue;
    if (!dims.empty() && strides.back() == s * d) {
      dims.back() *= d;
      strides.back() = s;
    } else {
      dims.push_back(d);
      strides.push_back(s);
    }
  }
  if (dims.empty()) {
    out[0] = x[0];
    return;
  }
  const size_t outer = dims.size() - 1;
  const int64_t inner = dims[outer], innerStride = strides[outer];
  int64_t rows = 1;
  for (size_t i = 0; i < outer; i++) rows *= dims[i];
  parallelFor(rows, inner, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; r++) {
      int64_t rest = r, at = 0;
      for (size_t i = outer; i-- > 0;) {
        at += (rest % dims[i]) * strides[i];
        rest /= dims[i];
      }
      float* o = out + r * inner;
      if (innerStride == 1) {
        std::memcpy(o, x + at, sizeof(float) * inner);
      } else {
        for (int64_t c = 0; c < inner; c++) o[c] = x[at + c * innerStride];
      }
    }
  });
}

}  // namespace specter2
