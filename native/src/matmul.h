// oneDNN matmul with cached primitives: one primitive per problem shape, reused across calls.
#pragma once
#include <cstddef>
#include <cstdint>

#include "oneapi/dnnl/dnnl.hpp"

namespace specter2 {

// Fused element-wise step applied to the product (after the bias), as a oneDNN post-op.
enum class Activation : int { Linear = 0, Relu, Relu6, Elu, LeakyRelu, Sigmoid, GeluErf, Count };

struct MatMulProblem {
  int64_t batchA, batchB;  // 1 on either side broadcasts that operand over the other's batch
  int64_t m, k, n;
  bool transA, transB;     // operands stored as [batch, k, m] / [batch, n, k]
  // Bias broadcast to [batch, m, n]: each of its dims is 1 or the full extent. 0 = no bias.
  int64_t biasBatch, biasM, biasN;
  Activation activation;
  float alpha;             // LeakyRelu's negative slope
};

// Appends `act` (nothing for Linear) to a primitive's post-ops.
void appendActivation(dnnl::post_ops& ops, Activation act, float alpha);

// Runs out = act(a·b + bias) on plain operands (model weights are packed once instead: reduced.h).
// Buffers must hold exactly the sizes the problem implies (checked by the caller). Throws dnnl::error on
// failure inside oneDNN.
void matmul(const MatMulProblem& p, const float* a, const float* b, const float* bias, float* out);

}  // namespace specter2
