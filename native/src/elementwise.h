// Element-wise float32 kernels: binary ops with NumPy/tfjs broadcasting, and unary ops. Inputs are
// plain row-major arrays; shapes are checked by the caller (addon.cc), which also sizes `out`.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace specter2 {

// In the order of src/backend/native/addon.ts's BINARY_CODES.
enum class BinaryOp : int { Add = 0, Sub, Mul, Div, SquaredDifference, Count };
// In the order of src/backend/native/addon.ts's UNARY_CODES.
enum class UnaryOp : int { Erf = 0, Exp, Rsqrt, Sqrt, Square, Tanh, Sigmoid, Relu, Neg, Abs, Count };

// Sets out to the broadcast shape of a and b; false when they do not broadcast.
bool broadcastShape(const std::vector<int64_t>& a, const std::vector<int64_t>& b, std::vector<int64_t>& out);

// out (broadcast shape, sized by the caller) = op(a, b).
void binary(BinaryOp op, const float* a, const std::vector<int64_t>& aShape, const float* b, const std::vector<int64_t>& bShape, float* out);

void unary(UnaryOp op, const float* x, size_t n, float* out);

}  // namespace specter2
