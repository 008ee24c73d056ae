// Kernels over the last axis of a [rows, cols] float32 array: softmax and the reductions
// (LayerNorm's mean and variance are Means over the hidden axis).
#pragma once
#include <cstdint>

namespace specter2 {

// In the order of src/backend/native/addon.ts's REDUCE_CODES.
enum class ReduceOp : int { Sum = 0, Mean, Max, Count };

void softmax(const float* x, int64_t rows, int64_t cols, float* out);

// out[r] = op over x[r, :].
void reduce(ReduceOp op, const float* x, int64_t rows, int64_t cols, float* out);

}  // namespace specter2
