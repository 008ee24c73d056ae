// The native backend's memory handling (src/backend/native/nativeBackend.ts): kernel outputs are
// recycled through a pool, reads hand out copies, views of an output keep it from being reused,
// constant weight matrices are packed once (their float32 values dropped) and freed with them, and a kernel that fails gives
// its output back. Expected values come from tfjs-backend-cpu on the same inputs. Skipped where the
// addon is not built.
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { NATIVE_BACKEND, registerNativeBackend } from "../../src/backend/native";
import type { NativeAddon } from "../../src/backend/native/addon";
import { loadAddon, nativeAddonPath } from "../../src/backend/native/addon";
import type { NativeBackend } from "../../src/backend/native/nativeBackend";
import { PASSES_REMEMBERED } from "../../src/backend/native/outputPool";
import { NATIVE_BUILT } from "../helpers/nativeBackends";
import { seededSigned } from "../../convert/seededRandom";

/** Deterministic uniform values in [-1, 1), so a failure reproduces. */
const rng = seededSigned;

const size = (shape: readonly number[]): number => shape.reduce((p, d) => p * d, 1);

function randomArray(shape: readonly number[], seed: number): Float32Array {
  const next = rng(seed);
  return Float32Array.from({ length: size(shape) }, next);
}

const t = (values: Float32Array, shape: number[]) => tf.tensor(values, shape, "float32");

/** `w` handed to the active (native) backend as a model's fp32 weight, as Linear.load does. */
const keepWeight = (w: tf.Tensor) => (tf.backend() as NativeBackend).capabilities.keepWeight(w as tf.Tensor2D, "fp32", "row");

/** `op` run on the cpu backend, its result read back; the active backend is native again after. */
function onCpu(op: () => tf.Tensor): Float32Array {
  // cpu and native initialise synchronously: setBackend has switched when it returns (its promise is only the result).
  void tf.setBackend("cpu");
  try {
    return tf.tidy(() => op().dataSync() as Float32Array);
  } finally {
    void tf.setBackend(NATIVE_BACKEND);
  }
}

/** Largest |a[i] − b[i]|. */
function worst(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let w = 0;
  for (let i = 0; i < a.length; i++) w = Math.max(w, Math.abs(a[i] - b[i]));
  return w;
}

/**
 * As in native.kernels.test.ts: both sides sum k products of values in [-1, 1] in float32 in different
 * orders, so they differ by at most 2k²u (u = 2^-24) plus 1e-6 for oneDNN's rounding; a stale or wrong
 * weight moves values by O(1).
 */
const matmulTolerance = (k: number): number => 2 * k * k * 2 ** -24 + 1e-6;

(NATIVE_BUILT ? describe : describe.skip)("the native backend's memory", () => {
  let addon: NativeAddon;
  let backend: NativeBackend;
  /** Every output array the kernels take (spied, not replaced). */
  let outputs: jest.SpyInstance<Float32Array, [number]>;
  const taken = (from: number): Float32Array[] => outputs.mock.results.slice(from).map((r) => r.value as Float32Array);
  /** The backend's own array behind a tensor (what the pool recycles). */
  const stored = (x: tf.Tensor) => backend.data.get(x.dataId).values as Float32Array;

  beforeAll(async () => {
    registerNativeBackend();
    addon = loadAddon();
    await tf.setBackend(NATIVE_BACKEND);
    backend = tf.backend() as NativeBackend;
  });
  beforeEach(() => tf.setBackend(NATIVE_BACKEND));
  afterEach(() => jest.restoreAllMocks());
  afterAll(() => tf.setBackend("cpu"));
  // restoreAllMocks drops the output spy too: take it again for each test.
  beforeEach(() => (outputs = jest.spyOn(backend, "output")));

  describe("(a) recycling is safe", () => {
    it("arrays read from a native result keep their values after its tensor is disposed and its memory reused", async () => {
      const xv = randomArray([32, 32], 1);
      const want = onCpu(() => tf.add(t(xv, [32, 32]), t(xv, [32, 32])));
      const x = t(xv, [32, 32]);
      const y = tf.add(x, x);
      const inside = stored(y);
      expect(taken(0)).toContain(inside); // a pooled output, so the pool may reuse it
      const read = y.dataSync() as Float32Array;
      const readAsync = (await y.data()) as Float32Array;
      const nested = y.arraySync() as number[][];
      // Copies, not the pooled array itself.
      expect(read).not.toBe(inside);
      expect(readAsync).not.toBe(inside);
      expect(read.buffer).not.toBe(inside.buffer);
      y.dispose();

      const from = outputs.mock.calls.length;
      for (let i = 0; i < 50; i++) tf.tidy(() => tf.mul(x, tf.scalar(i + 3)).dataSync());
      // The disposed result's memory was handed out again (else this test would prove nothing)...
      // (The pool wraps a returned buffer in a new Float32Array: compare buffers.)
      expect(taken(from).some((a) => a.buffer === inside.buffer)).toBe(true);
      // ...and now holds another op's values, while what was read before is unchanged.
      expect(worst(inside, want)).toBeGreaterThan(0.5);
      expect(Array.from(read)).toEqual(Array.from(want));
      expect(Array.from(readAsync)).toEqual(Array.from(want));
      expect(nested.flat()).toEqual(Array.from(want));
      x.dispose();
    });
  });

  describe("(b) views of a native result", () => {
    it("a slice (a subarray of the output) reads correctly after its source is disposed and ops of the same size run", () => {
      const xv = randomArray([32, 32], 2);
      const want = onCpu(() => tf.slice(tf.add(t(xv, [32, 32]), t(xv, [32, 32])), [4, 0], [3, 32]));
      const x = t(xv, [32, 32]);
      const y = tf.add(x, x);
      const inside = stored(y);
      const s = tf.slice(y, [4, 0], [3, 32]);
      // cpu's Slice keeps a view of y's pooled array (the case this test is about).
      expect(stored(s).buffer).toBe(inside.buffer);
      y.dispose();

      const from = outputs.mock.calls.length;
      for (let i = 0; i < 50; i++) tf.tidy(() => tf.mul(x, tf.scalar(i + 3)).dataSync());
      expect(taken(from).some((a) => a.buffer === inside.buffer)).toBe(false);
      expect(Array.from(s.dataSync())).toEqual(Array.from(want));

      // Once the last view goes, the array goes back to the pool.
      const pooled = backend.pooledBytes;
      s.dispose();
      expect(backend.pooledBytes).toBe(pooled + inside.byteLength);
      x.dispose();
    });
  });

  describe("(c) a model-like op chain in a loop", () => {
    const [S, H, V] = [12, 32, 40];
    const inputs = {
      table: randomArray([V, H], 3),
      w: randomArray([H, H], 4),
      bias: randomArray([H], 5),
      ids: Int32Array.from({ length: S }, (_, i) => (i * 7) % V),
      mask: Float32Array.from({ length: S }, (_, i) => (i >= S - 3 ? -1e30 : 0)),
    };

    /** Embedding lookup, dense + ReLU, layer norm, two-head attention, residual, pooled sum. */
    function step(make: (v: Float32Array, shape: number[]) => tf.Tensor): tf.Tensor {
      const emb = tf.gather(make(inputs.table, [V, H]), tf.tensor(inputs.ids, [S], "int32"));
      const h = tf.fused.matMul({ a: emb, b: make(inputs.w, [H, H]), bias: make(inputs.bias, [H]), activation: "relu" });
      const mean = tf.mean(h, -1, true);
      const centered = tf.sub(h, mean);
      const variance = tf.mean(tf.square(centered), -1, true);
      const normed = tf.mul(centered, tf.rsqrt(tf.add(variance, 1e-6)));
      const heads = tf.transpose(tf.reshape(normed, [S, 2, H / 2]), [1, 0, 2]);
      const scores = tf.add(tf.div(tf.matMul(heads, heads, false, true), 4), make(inputs.mask, [1, 1, S]));
      const context = tf.matMul(tf.softmax(scores), heads);
      const merged = tf.reshape(tf.transpose(context, [1, 0, 2]), [S, H]);
      return tf.sum(tf.tanh(tf.add(merged, emb)), -1);
    }

    it("numTensors stays put, the pool stops growing after the first pass, and every pass gives the same values", () => {
      // Weights made once, as the model's are; the loop makes only the activations.
      const weights = new Map<Float32Array, tf.Tensor>();
      const make = (v: Float32Array, shape: number[]) => {
        if (!weights.has(v)) weights.set(v, tf.keep(t(v, shape)));
        return weights.get(v)!;
      };
      const first = tf.tidy(() => step(make).dataSync() as Float32Array);
      const tensors = tf.memory().numTensors;
      const pooled = backend.pooledBytes;
      // The chain's outputs went back to the pool at the end of the tidy (else this proves nothing).
      expect(pooled).toBeGreaterThan(0);
      for (let i = 0; i < 200; i++) {
        const values = tf.tidy(() => step(make).dataSync() as Float32Array);
        expect(tf.memory().numTensors).toBe(tensors);
        // Each pass asks for the same lengths, all served from the pool and all given back.
        expect(backend.pooledBytes).toBe(pooled);
        // Same inputs, same kernels, same thread counts: bit for bit the same, so no pass read memory
        // another had reused.
        if (i % 20 === 0 || i === 199) expect(Array.from(values)).toEqual(Array.from(first));
      }
      weights.forEach((w) => w.dispose());

      // And the values are the right ones. Tolerance: ~15 float32 steps on values of magnitude ≤ ~10,
      // each within a few ulps or (the matmuls, k ≤ 32) 2k²u ≈ 1.2e-4 of cpu, pass through tanh
      // (1-Lipschitz) and a sum of 32: 1e-3. A reused array read by mistake moves sums by O(1).
      const want = onCpu(() => step((v, shape) => t(v, shape)));
      expect(worst(first, want)).toBeLessThan(1e-3);
    });
  });

  describe("(d) constant weights", () => {
    const [M, K, N] = [9, 48, 40];
    const av = randomArray([M, K], 10);
    const biasv = randomArray([N], 11);
    const product = (b: tf.Tensor, bias = true) => tf.fused.matMul({ a: t(av, [M, K]), b, bias: bias ? t(biasv, [N]) : undefined });
    /** The float32 values a tensor's entry holds now (an empty array once the weight is packed). */
    const held = (x: tf.Tensor) => backend.data.get(x.dataId).values as Float32Array;

    it("a kept weight matrix is packed once, its float32 values dropped: the product equals cpu's, and the copy goes with the weight", () => {
      const bv = randomArray([K, N], 12);
      const want = onCpu(() => product(t(bv, [K, N])));
      const packed = jest.spyOn(addon, "matmulReduced");
      const plain = jest.spyOn(addon, "matmul");
      const before = addon.reducedBytes();
      const b = t(bv, [K, N]);
      keepWeight(b);
      // One resident copy: the packed one (at least the K × N float32 values), none in the tensor.
      expect(held(b).length).toBe(0);
      expect(addon.reducedBytes() - before).toBeGreaterThanOrEqual(bv.byteLength);
      const got = tf.tidy(() => product(b).dataSync());
      expect(packed).toHaveBeenCalledTimes(1);
      expect(plain).not.toHaveBeenCalled();
      expect(worst(got, want)).toBeLessThanOrEqual(matmulTolerance(K));
      // Reading the weight back gives its values exactly (fp32 packing only reorders them).
      expect(Array.from(b.dataSync())).toEqual(Array.from(bv));
      b.dispose();
      expect(addon.reducedBytes()).toBe(before);
    });

    it("the packed fp32 product is bit for bit the plain one (the same oneDNN kernel, another layout of the same values)", () => {
      const bv = randomArray([K, N], 21);
      const plain = tf.tidy(() => product(t(bv, [K, N])).dataSync());
      const b = t(bv, [K, N]);
      keepWeight(b);
      const packed = tf.tidy(() => product(b).dataSync());
      b.dispose();
      expect(Array.from(packed)).toEqual(Array.from(plain));
    });

    it("a tensor that was not kept is not packed", () => {
      const packed = jest.spyOn(addon, "matmulReduced");
      const before = addon.reducedBytes();
      tf.tidy(() => product(t(randomArray([K, N], 13), [K, N])).dataSync());
      expect(packed).not.toHaveBeenCalled();
      expect(addon.reducedBytes()).toBe(before);
    });

    it("a new weight in the same memory (a recycled output) gives the new product", () => {
      const v1 = randomArray([K, N], 14);
      const v2 = randomArray([K, N], 15);
      const want1 = onCpu(() => product(t(v1, [K, N])));
      const want2 = onCpu(() => product(t(v2, [K, N])));
      const before = addon.reducedBytes();
      const b1 = t(v1, [K, N]);
      keepWeight(b1);
      const got1 = tf.tidy(() => product(b1).dataSync());
      b1.dispose();
      expect(addon.reducedBytes()).toBe(before);
      // Weights made by a native kernel live in pooled arrays: the second may take any freed memory.
      const b2 = tf.tidy(() => tf.add(t(v2, [K, N]), tf.scalar(0)));
      keepWeight(b2);
      const got2 = tf.tidy(() => product(b2).dataSync());
      b2.dispose();
      expect(worst(got1, want1)).toBeLessThanOrEqual(matmulTolerance(K));
      expect(worst(got2, want2)).toBeLessThanOrEqual(matmulTolerance(K));
      expect(addon.reducedBytes()).toBe(before);
    });

    it("one weight used plain and transposed (a square matrix) gives both right products", () => {
      const bv = randomArray([K, K], 18);
      const aSquare = randomArray([M, K], 19);
      const op = (b: tf.Tensor, transposeB: boolean) => tf.matMul(t(aSquare, [M, K]), b, false, transposeB);
      const wantPlain = onCpu(() => op(t(bv, [K, K]), false));
      const wantTransposed = onCpu(() => op(t(bv, [K, K]), true));
      const before = addon.reducedBytes();
      const b = t(bv, [K, K]);
      keepWeight(b);
      const plain = tf.tidy(() => op(b, false).dataSync());
      // Transposed, the packed product does not apply: the unpacked values go through the plain one.
      const transposed = tf.tidy(() => op(b, true).dataSync());
      expect(worst(plain, wantPlain)).toBeLessThanOrEqual(matmulTolerance(K));
      expect(worst(transposed, wantTransposed)).toBeLessThanOrEqual(matmulTolerance(K));
      b.dispose();
      expect(addon.reducedBytes()).toBe(before);
    });

    it("one weight reshaped ([K, N] as [N, K], transposed) gives both right products", () => {
      const bv = randomArray([K, N], 20);
      const wantPlain = onCpu(() => product(t(bv, [K, N]), false));
      const wantReshaped = onCpu(() => tf.matMul(t(av, [M, K]), tf.reshape(t(bv, [K, N]), [N, K]), false, true));
      const before = addon.reducedBytes();
      const b = t(bv, [K, N]);
      keepWeight(b);
      const r = tf.reshape(b, [N, K]); // the same data, so the same packed weight
      const plain = tf.tidy(() => product(b, false).dataSync());
      const reshaped = tf.tidy(() => tf.matMul(t(av, [M, K]), r, false, true).dataSync());
      expect(worst(plain, wantPlain)).toBeLessThanOrEqual(matmulTolerance(K));
      expect(worst(reshaped, wantReshaped)).toBeLessThanOrEqual(matmulTolerance(N));
      b.dispose();
      expect(addon.reducedBytes()).toBeGreaterThan(before); // r still holds the data
      r.dispose();
      expect(addon.reducedBytes()).toBe(before);
    });
  });

  describe("(e) a kernel that fails", () => {
    const injected = () => {
      throw new Error("injected failure");
    };

    // Tolerances against cpu: x + x is exact in float32; tanh is within 3 ulps (≤ 3.6e-7 on values ≤ 1,
    // see native.tensorKernels.test.ts); the product of 16 terms as above; softmax probabilities 1e-6.
    it.each([
      ["binary (Add)", "binary", (x: tf.Tensor) => tf.add(x, x), 0],
      ["unary (Tanh)", "unary", (x: tf.Tensor) => tf.tanh(x), 3.6e-7],
      ["matmul", "matmul", (x: tf.Tensor) => tf.matMul(x, x), matmulTolerance(16)],
      ["softmax", "softmax", (x: tf.Tensor) => tf.softmax(x), 1e-6],
    ] as const)("%s: no tensor leaks, its output goes back to the pool, and the next call works", (_name, fn, op, tolerance) => {
      const xv = randomArray([16, 16], 30);
      const want = onCpu(() => op(t(xv, [16, 16])));
      const x = t(xv, [16, 16]);
      jest.spyOn(addon, fn).mockImplementationOnce(injected);
      const tensors = tf.memory().numTensors;
      const from = outputs.mock.calls.length;
      expect(() => op(x)).toThrow("injected failure");
      expect(tf.memory().numTensors).toBe(tensors);
      const [lost] = taken(from);
      expect(lost).toBeInstanceOf(Float32Array);
      // The next call runs the real kernel, in the array the failed call gave back.
      const y = op(x);
      expect(stored(y).buffer).toBe(lost.buffer);
      expect(worst(y.dataSync(), want)).toBeLessThanOrEqual(tolerance);
      y.dispose();
      x.dispose();
      expect(tf.memory().numTensors).toBe(tensors - 1);
    });

    it("a failure in the middle of a tidy chain leaks nothing", () => {
      const xv = randomArray([8, 24], 31);
      const chain = (x: tf.Tensor) => tf.sum(tf.exp(tf.sub(x, tf.mean(x, -1, true))), -1);
      const want = onCpu(() => chain(t(xv, [8, 24])));
      const x = t(xv, [8, 24]);
      // A first pass leaves one array of each length the chain asks for in the pool.
      tf.tidy(() => chain(x).dataSync());
      const tensors = tf.memory().numTensors;
      const pooled = backend.pooledBytes;
      jest.spyOn(addon, "unary").mockImplementationOnce(injected);
      expect(() => tf.tidy(() => chain(x))).toThrow("injected failure");
      expect(tf.memory().numTensors).toBe(tensors);
      // The mean and the difference were taken from the pool and given back, as was exp's unfilled output.
      expect(backend.pooledBytes).toBe(pooled);
      // Each sum adds 24 positive terms (Σ|terms| is the sum itself): native's float lanes are within
      // (⌈24/16⌉ + 3)·u of it, exp within 2 ulps per term (≤ 4u): ≤ 9u ≈ 5.4e-7 relative; 1e-6 relative.
      const got = tf.tidy(() => chain(x).dataSync());
      want.forEach((w, i) => expect(Math.abs(got[i] - w)).toBeLessThanOrEqual(1e-6 * w));
      x.dispose();
    });
  });
});

(NATIVE_BUILT ? describe : describe.skip)("the native backend's threads", () => {
  it("Specter2.load's threads option (the CLI's --threads) sets the addon's thread count", async () => {
    const { Specter2 } = await import("../../src/node/specter2");
    const addon = loadAddon();
    const before = addon.threads();
    const model = await Specter2.load(join(__dirname, "..", "..", "weights", "specter2-tiny"), { workers: 0, backend: "native", threads: 1 });
    try {
      expect(model.backend.choice).toBe("native");
      expect(addon.threads()).toBe(1);
    } finally {
      await model.close();
      addon.setThreads(before);
    }
  });
});

(NATIVE_BUILT ? describe : describe.skip)("the output pool between forward passes", () => {
  it("keeps what a long batch needed while such batches run, and gives it back within PASSES_REMEMBERED short ones", async () => {
    const { Specter2 } = await import("../../src/node/specter2");
    const model = await Specter2.load(join(__dirname, "..", "..", "weights", "specter2-tiny"), { workers: 0, backend: "native" });
    try {
      const pooled = () => (tf.backend() as NativeBackend).pooledBytes;
      const row = (length: number) => [2, ...Array.from({ length: length - 2 }, (_, i) => 5 + (i % 300)), 3];
      const long = Array.from({ length: 16 }, () => row(512));
      await model.embedBatch(long, null);
      const afterLong = pooled();
      // 16 × 512 rows: each [16·512, 64] activation is 2 MiB, the attention scores 16 MiB a chunk.
      expect(afterLong).toBeGreaterThan(16 * 2 ** 20);
      await model.embedBatch(long, null);
      expect(pooled()).toBeLessThanOrEqual(afterLong * 1.01); // the same shapes again: reused, not grown
      for (let i = 0; i < PASSES_REMEMBERED; i++) await model.embedBatch([row(8)], null);
      // Eight tokens of width 64 need a few KiB per output.
      expect(pooled()).toBeLessThan(2 ** 20);
    } finally {
      await model.close();
    }
  });
});

(NATIVE_BUILT ? describe : describe.skip)("packed weights never outlive their environment", () => {
  it("a worker thread's packed weights are dropped when it ends, even without disposing them", async () => {
    const { Worker } = await import("node:worker_threads");
    const addon = loadAddon();
    const [k, n] = [32, 16];
    const before = addon.reducedBytes();
    const script = `
      const addon = require(${JSON.stringify(nativeAddonPath())});
      const { k, n } = require("node:worker_threads").workerData;
      addon.packReduced(new Float32Array(k * n).fill(0.5), [k, n], 0);
      require("node:worker_threads").parentPort.postMessage(addon.reducedBytes());`;
    const worker = new Worker(script, { eval: true, workerData: { k, n } });
    // Listened for at once: a worker that posts and ends may emit "exit" in the same turn as "message", before a
    // listener added after awaiting the message exists (this test once waited forever for an "exit" already gone).
    const exited = new Promise((resolve) => worker.once("exit", resolve));
    const during = await new Promise<number>((resolve, reject) => worker.once("message", resolve).once("error", reject));
    expect(during).toBeGreaterThanOrEqual(before + k * n * 4);
    await exited;
    expect(addon.reducedBytes()).toBe(before);
  });
});
