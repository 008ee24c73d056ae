#include "elementwise.h"

#include <cmath>

#include "parallel.h"

namespace specter2 {
namespace {

struct AddF { static float f(float a, float b) { return a + b; } };
struct SubF { static float f(float a, float b) { return a - b; } };
struct MulF { static float f(float a, float b) { return a * b; } };
struct DivF { static float f(float a, float b) { return a / b; } };
struct SqDiffF { static float f(float a, float b) { const float d = a - b; return d * d; } };

// One run of `n` outputs; each operand advances by 1 or repeats one value (stride 0), so each case is
// a simple loop the compiler vectorises.
template <class Op>
void row(const float* a, bool aMoves, const float* b, bool bMoves, float* out, int64_t n) {
  if (aMoves && bMoves) {
    for (int64_t i = 0; i < n; i++) out[i] = Op::f(a[i], b[i]);
  } else if (aMoves) {
    const float bv = *b;
    for (int64_t i = 0; i < n; i++) out[i] = Op::f(a[i], bv);
  } else if (bMoves) {
    const float av = *a;
    for (int64_t i = 0; i < n; i++) out[i] = Op::f(av, b[i]);
  } else {
    const float v = Op::f(*a, *b);
    for (int64_t i = 0; i < n; i++) out[i] = v;
  }
}

// The broadcast as few dims as possible: size-1 dims dropped, neighbours merged where both operands
// step through them the same way. Strides are in elements, 0 where an operand repeats.
struct Plan {
  std::vector<int64_t> dims, aStrides, bStrides;
};

std::vector<int64_t> padded(const std::vector<int64_t>& shape, size_t rank) {
  std::vector<int64_t> out(rank - shape.size(), 1);
  out.insert(out.end(), shape.begin(), shape.end());
  return out;
}

Plan plan(const std::vector<int64_t>& aShape, const std::vector<int64_t>& bShape, const std::vector<int64_t>& outShape) {
  const size_t rank = outShape.size();
  const std::vector<int64_t> aDims = padded(aShape, rank), bDims = padded(bShape, rank);
  std::vector<int64_t> aS(rank, 0), bS(rank, 0);
  int64_t as = 1, bs = 1;
  for (size_t i = rank; i-- > 0;) {
    aS[i] = aDims[i] == 1 ? 0 : as;
    bS[i] = bDims[i] == 1 ? 0 : bs;
    as *= aDims[i];
    bs *= bDims[i];
  }
  Plan p;
  for (size_t i = 0; i < rank; i++) {
    if (outShape[i] == 1) continue;
    const size_t last = p.dims.size();
    if (last > 0 && p.aStrides[last - 1] == aS[i] * outShape[i] && p.bStrides[last - 1] == bS[i] * outShape[i]) {
      p.dims[last - 1] *= outShape[i];
      p.aStrides[last - 1] = aS[i];
      p.bStrides[last - 1] = bS[i];
    } else {
      p.dims.push_back(outShape[i]);
      p.aStrides.push_back(aS[i]);
      p.bStrides.push_back(bS[i]);
    }
  }
  if (p.dims.empty()) p = Plan{{1}, {0}, {0}};
  return p;
}

template <class Op>
void broadcastLoop(const Plan& p, const float* a, const float* b, float* out) {
  const size_t outerRank = p.dims.size() - 1;
  const int64_t inner = p.dims[outerRank];
  int64_t rows = 1;
  for (size_t i = 0; i < outerRank; i++) rows *= p.dims[i];
  const bool aMoves = p.aStrides[outerRank] != 0, bMoves = p.bStrides[outerRank] != 0;
  parallelFor(rows, inner, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; r++) {
      int64_t rest = r, ao = 0, bo = 0;
      for (size_t i = outerRank; i-- > 0;) {
        const int64_t idx = rest % p.dims[i];
        rest /= p.dims[i];
        ao += idx * p.aStrides[i];
        bo += idx * p.bStrides[i];
      }
      row<Op>(a + ao, aMoves, b + bo, bMoves, out + r * inner, inner);
    }
  });
}

template <class F>
void map(const float* x, size_t n, float* out, F f) {
  parallelFor(static_cast<int64_t>(n), 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; i++) out[i] = f(x[i]);
  });
}

}  // namespace

bool broadcastShape(const std::vector<int64_t>& a, const std::vector<int64_t>& b, std::vector<int64_t>& out) {
  const size_t rank = a.size() > b.size() ? a.size() : b.size();
  const std::vector<int64_t> aDims = padded(a, rank), bDims = padded(b, rank);
  out.assign(rank, 1);
  for (size_t i = 0; i < rank; i++) {
    if (aDims[i] != bDims[i] && aDims[i] != 1 && bDims[i] != 1) return false;
    out[i] = aDims[i] == 1 ? bDims[i] : aDims[i];
  }
  return true;
}

void binary(BinaryOp op, const float* a, const std::vector<int64_t>& aShape, const float* b, const std::vector<int64_t>& bShape, float* out) {
  std::vector<int64_t> outShape;
  broadcastShape(aShape, bShape, outShape);
  const Plan p = plan(aShape, bShape, outShape);
  switch (op) {
    case BinaryOp::Add: broadcastLoop<AddF>(p, a, b, out); break;
    case BinaryOp::Sub: broadcastLoop<SubF>(p, a, b, out); break;
    case BinaryOp::Mul: broadcastLoop<MulF>(p, a, b, out); break;
    case BinaryOp::Div: broadcastLoop<DivF>(p, a, b, out); break;
    case BinaryOp::SquaredDifference: broadcastLoop<SqDiffF>(p, a, b, out); break;
    case BinaryOp::Count: break;
  }
}

void unary(UnaryOp op, const float* x, size_t n, float* out) {
  switch (op) {
    case UnaryOp::Erf: map(x, n, out, [](float v) { return std::erf(v); }); break;
    case UnaryOp::Exp: map(x, n, out, [](float v) { return std::exp(v); }); break;
    case UnaryOp::Rsqrt: map(x, n, out, [](float v) { return 1.f / std::sqrt(v); }); break;
    case UnaryOp::Sqrt: map(x, n, out, [](float v) { return std::sqrt(v); }); break;
    case UnaryOp::Square: map(x, n, out, [](float v) { return v * v; }); break;
    case UnaryOp::Tanh: map(x, n, out, [](float v) { return std::tanh(v); }); break;
    case UnaryOp::Sigmoid: map(x, n, out, [](float v) { return 1.f / (1.f + std::exp(-v)); }); break;
    // NaN stays NaN, as in tfjs (a comparison with NaN is false).
    case UnaryOp::Relu: map(x, n, out, [](float v) { return v < 0.f ? 0.f : v; }); break;
    case UnaryOp::Neg: map(x, n, out, [](float v) { return -v; }); break;
    case UnaryOp::Abs: map(x, n, out, [](float v) { return std::fabs(v); }); break;
    case UnaryOp::Count: break;
  }
}

}  // namespace specter2
