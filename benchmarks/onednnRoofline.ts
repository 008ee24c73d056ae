// The native backend's ceiling: GOP/s of oneDNN's own products through our addon, on all threads, with the
// weight packed as the model's are (bias and GELU fused, the input converted or quantized inside the timed call
// at bf16 and int8). The ceiling RESULTS.md states: fp32 at 2048×768 · 768×3072, a feed-forward product of
// 8 × 256 tokens (the shape the native target is stated against).
import type { Precision } from "../src/model/config";
import { ACTIVATION_CODES, INT8_SCALE_CODES, loadAddon, PRECISION_CODES } from "../src/backend/native/addon";

export const ONEDNN_SHAPE = { m: 2048, k: 768, n: 3072 };

/** GOP/s of the best of `repeats` products (after one that builds the primitive). */
export function packedMatmulGops(precision: Precision, m: number, k: number, n: number, repeats = 10): number {
  const addon = loadAddon();
  const a = Float32Array.from({ length: m * k }, (_, i) => ((i * 7919) % 1000) / 1000 - 0.5);
  const b = Float32Array.from({ length: k * n }, (_, i) => ((i * 104729) % 1000) / 1000 - 0.5);
  const bias = new Float32Array(n).fill(0.1);
  const out = new Float32Array(m * n);
  const id = addon.packReduced(b, [k, n], PRECISION_CODES[precision]);
  const multiply = () => addon.matmulReduced(id, a, [1, m, k], bias, ACTIVATION_CODES.gelu, 0, INT8_SCALE_CODES.row, out);
  multiply();
  let best = Infinity;
  for (let i = 0; i < repeats; i++) {
    const start = performance.now();
    multiply();
    best = Math.min(best, performance.now() - start);
  }
  addon.dropReduced(id);
  return (2 * m * k * n) / (best / 1000) / 1e9;
}

export function onednnMatmulGflops(): number {
  return packedMatmulGops("fp32", ONEDNN_SHAPE.m, ONEDNN_SHAPE.k, ONEDNN_SHAPE.n);
}
