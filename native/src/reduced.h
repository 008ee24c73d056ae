// Products with a model weight (docs/architecture.md, "Backends"): the weight packed once into oneDNN's layout at fp32, bf16 or
// int8, the only copy kept; activations converted (bf16) or quantized (int8) at each product's input,
// accumulation and outputs in f32. Only the products change precision; everything around them (bias,
// activation post-ops included) is f32.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "matmul.h"

namespace specter2 {

// In the order of src/backend/native/addon.ts's PRECISION_CODES.
enum class Precision : int { F32 = 0, BF16, Int8, Count };
// How int8 activations get their scale: one (min, max) per product input, or one per row.
// In the order of src/backend/native/addon.ts's INT8_SCALE_CODES.
enum class Int8Scales : int { PerTensor = 0, PerRow, Count };

// Packs the weight b, row-major [k, n], into an fp32, bf16 or int8 copy in the layout oneDNN computes
// fastest with (from the plain layout oneDNN would reorder it block by block inside every call), and returns its id; b itself is
// not kept (the caller may free it). int8: symmetric s8 with one
// scale per output channel (column n): scale = max |b[:, n]| / 127, q = round-to-nearest-even(b / scale).
int64_t packReduced(const float* b, int64_t k, int64_t n, Precision p, const void* owner);

struct ReducedShape {
  int64_t k, n;
  Precision precision;
  size_t bytes;  // held for it: the packed copy and its per-channel vectors
};
// Throws ArgError for an unknown id.
ReducedShape reducedShape(int64_t id);

// The values the products multiply by (fp32 as given, bf16 widened, or q·scale), row-major [k, n].
void unpackReduced(int64_t id, float* out);

void dropReduced(int64_t id);
void dropReducedOwner(const void* owner);
size_t reducedBytes();

// out[rows, n] = act(a · W + bias), a row-major [rows, k] in f32, bias [n] or null. bf16: a rounded to
// bf16. int8: a quantized to u8 asymmetrically (x ≈ lo + s·u, u in 0..255; 0..127 where the CPU has no
// VNNI, whose u8·s8 pairs could saturate 16 bits), with (lo, s) per tensor or per row; the offset lo
// is folded into the bias as lo·Σ_k W[k, n]. A non-finite input makes the whole product NaN.
void matmulReduced(int64_t id, const float* a, int64_t rows, const float* bias, Activation act, float alpha, Int8Scales scales, float* out);

// The MatMulProblem with both operands rounded to bf16 (activation × activation: attention's products).
void matmulBf16(const MatMulProblem& p, const float* a, const float* b, const float* bias, float* out);

// The oneDNN implementation a 256×768·768×3072 product of that precision gets here (e.g.
// "brg:avx512_core_bf16"), "unsupported: …" where it cannot be created.
std::string implName(Precision p);
// oneDNN's effective ISA ("avx512_core_amx", "avx512_core_bf16", "avx2", …).
std::string cpuIsa();
// Whether int8 activations use the full 8 bits (VNNI or AMX), else 7.
bool int8FullRange();

}  // namespace specter2
