// The ceiling the wasm path works under: GFLOP/s of one large matmul on tfjs-backend-wasm (XNNPACK), the
// size of a feed-forward product on 4 × 256 tokens; on one thread, and on several threads at once (what
// the cores give together, which bounds the worker pool's scaling).
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../src/backend/select";
import { siblingScript, spawnWorker } from "../src/node/specter2";

export const ROOFLINE_SHAPE = { m: 1024, k: 768, n: 3072 };
const REPEATS = 8;

let operands: [tf.Tensor2D, tf.Tensor2D] | null = null;

function multiplyOnce(): void {
  const c = tf.matMul(operands![0], operands![1]);
  c.dataSync();
  c.dispose();
}

/** Initialises wasm and runs the product once (the first call grows the heap). */
export async function prepareMatmul(): Promise<void> {
  await initBackend("wasm");
  const { m, k, n } = ROOFLINE_SHAPE;
  operands = [tf.randomNormal<tf.Rank.R2>([m, k]), tf.randomNormal<tf.Rank.R2>([k, n])];
  multiplyOnce();
}

export function matmulGflops(repeats = REPEATS): number {
  const { m, k, n } = ROOFLINE_SHAPE;
  const start = performance.now();
  for (let i = 0; i < repeats; i++) multiplyOnce();
  return (2 * m * k * n * repeats) / ((performance.now() - start) / 1000) / 1e9;
}

/** Sum of `threads` threads' GFLOP/s, each multiplying at the same time (a barrier starts them together). */
export async function parallelMatmulGflops(threads: number): Promise<number> {
  const workers = Array.from({ length: threads }, () => spawnWorker(siblingScript(__filename, __dirname, "rooflineWorker")));
  const next = () => Promise.all(workers.map((w) => new Promise<number>((resolve, reject) => w.once("message", resolve).once("error", reject))));
  await next(); // every worker ready
  const results = next();
  for (const w of workers) w.postMessage("go");
  const total = (await results).reduce((a, b) => a + b, 0);
  await Promise.all(workers.map((w) => w.terminate()));
  return total;
}
