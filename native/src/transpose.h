// Permuting the axes of a row-major float32 array (tfjs' Transpose).
#pragma once
#include <cstdint>
#include <vector>

namespace specter2 {

// out has shape[perm[i]] along axis i; perm is a permutation of 0..rank-1 (checked by the caller).
void transpose(const float* x, const std::vector<int64_t>& shape, const std::vector<int64_t>& perm, float* out);

}  // namespace specter2
