// The native backend's ceiling: GFLOP/s of oneDNN's own large matmul through our addon, on all threads,
// with the weights pre-packed as the model's are: 2048×768 · 768×3072, a feed-forward product of
// 8 × 256 tokens (the shape issue 10 states its target against).
import { loadAddon } from "../src/backend/native/addon";

export const ONEDNN_SHAPE = { m: 2048, k: 768, n: 3072 };

/** The best of `repeats` timed products (after one that builds the primitive and packs b). */
export function onednnMatmulGflops(repeats = 10): number {
  const addon = loadAddon();
  const { m, k, n } = ONEDNN_SHAPE;
  const a = Float32Array.from({ length: m * k }, (_, i) => ((i * 7919) % 1000) / 1000 - 0.5);
  const b = Float32Array.from({ length: k * n }, (_, i) => ((i * 104729) % 1000) / 1000 - 0.5);
  const out = new Float32Array(m * n);
  const multiply = () => addon.matmul(a, [1, m, k], b, [1, k, n], false, false, null, null, 0, 0, true, out);
  multiply();
  let best = Infinity;
  for (let i = 0; i < repeats; i++) {
    const start = performance.now();
    multiply();
    best = Math.min(best, performance.now() - start);
  }
  addon.forgetPacked(b);
  return (2 * m * k * n) / (best / 1000) / 1e9;
}
