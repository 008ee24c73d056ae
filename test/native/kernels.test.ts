// The oneDNN kernels against tfjs-backend-cpu's on random shapes: plain, transposed, batched and
// broadcast matmuls, with and without a fused bias and activation. Skipped where the addon is not built.
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { registerNativeBackend } from "../../src/backend/native";
import { loadAddon } from "../../src/backend/native/addon";
import { NATIVE_BUILT } from "../helpers/nativeBackends";
import { seededSigned } from "../../convert/seededRandom";

/** Deterministic uniform values in [-1, 1), so a failure reproduces. */
const rng = seededSigned;

function randomArray(shape: number[], next: () => number): Float32Array {
  return Float32Array.from({ length: shape.reduce((p, d) => p * d, 1) }, next);
}

type Activation = "linear" | "relu" | "relu6" | "elu" | "leakyrelu" | "sigmoid";

interface Case {
  aShape: number[];
  bShape: number[];
  transposeA: boolean;
  transposeB: boolean;
  biasShape?: number[];
  activation?: Activation;
}

/** Runs the case on one backend from the same values: tensors are made there, so no data moves between backends. */
function run(backend: string, c: Case, a: Float32Array, b: Float32Array, bias?: Float32Array): { shape: number[]; values: Float32Array } {
  // cpu and native initialise synchronously: setBackend has switched when it returns (its promise is only the result).
  void tf.setBackend(backend);
  return tf.tidy(() => {
    const ta = tf.tensor(a, c.aShape);
    const tb = tf.tensor(b, c.bShape);
    const out =
      c.biasShape === undefined && c.activation === undefined
        ? tf.matMul(ta, tb, c.transposeA, c.transposeB)
        : tf.fused.matMul({
            a: ta,
            b: tb,
            transposeA: c.transposeA,
            transposeB: c.transposeB,
            bias: bias && tf.tensor(bias, c.biasShape),
            activation: c.activation,
            leakyreluAlpha: 0.1,
          });
    return { shape: out.shape, values: out.dataSync() as Float32Array };
  });
}

/**
 * Tolerance: both sides sum k products of values in [-1, 1] in float32, in different orders. The
 * standard bound for a sum of k terms is k·u·Σ|terms| (u = 2^-24), Σ ≤ k here, so the two differ
 * by at most 2k²u; the activations are 1-Lipschitz and oneDNN's are within a few ulps (the 1e-6).
 * A wrong transposition, batch index or bias position moves values by O(1) and fails.
 */
function tolerance(k: number): number {
  return 2 * k * k * 2 ** -24 + 1e-6;
}

function check(c: Case, seed: number): void {
  const next = rng(seed);
  const a = randomArray(c.aShape, next);
  const b = randomArray(c.bShape, next);
  const bias = c.biasShape && randomArray(c.biasShape, next);
  const want = run("cpu", c, a, b, bias);
  const calls = nativeCalls();
  const got = run("native", c, a, b, bias);
  // The product came from oneDNN, not from the cpu kernel the native one falls back to.
  expect(nativeCalls()).toBe(calls + 1);
  expect(got.shape).toEqual(want.shape);
  const k = c.aShape[c.aShape.length - (c.transposeA ? 2 : 1)];
  let worst = 0;
  want.values.forEach((w, i) => (worst = Math.max(worst, Math.abs(w - got.values[i]))));
  expect(worst).toBeLessThanOrEqual(tolerance(k));
}

let spy: jest.SpyInstance | undefined;
function nativeCalls(): number {
  spy ??= jest.spyOn(loadAddon(), "matmul");
  return spy.mock.calls.length;
}

/** Random [batch…, rows, cols] pairs with matching inner dims, stored transposed where asked. */
function randomCase(next: () => number, opts: { batch: number[]; aBatch?: number[]; bBatch?: number[] }): Case {
  const dim = () => 1 + Math.floor(((next() + 1) / 2) * 70);
  const [m, k, n] = [dim(), dim(), dim()];
  const transposeA = next() > 0;
  const transposeB = next() > 0;
  return {
    aShape: [...(opts.aBatch ?? opts.batch), ...(transposeA ? [k, m] : [m, k])],
    bShape: [...(opts.bBatch ?? opts.batch), ...(transposeB ? [n, k] : [k, n])],
    transposeA,
    transposeB,
  };
}

(NATIVE_BUILT ? describe : describe.skip)("native kernels match tfjs-backend-cpu", () => {
  beforeAll(() => registerNativeBackend());
  afterAll(() => tf.setBackend("cpu"));

  it.each([1, 2, 3, 4, 5, 6, 7, 8])("2-D matmul, random shape and transposes (seed %i)", (seed) => {
    check(randomCase(rng(seed), { batch: [] }), seed);
  });

  it.each([11, 12, 13, 14, 15, 16])("batched matmul over [2, 3, ·, ·] (seed %i)", (seed) => {
    check(randomCase(rng(seed), { batch: [2, 3] }), seed);
  });

  it.each<[string, number[], number[]]>([
    ["a broadcast", [1], [4]],
    ["b broadcast", [2, 3], []],
    ["b of batch 1", [5], [1, 1]],
  ])("batch broadcast: %s", (_name, aBatch, bBatch) => {
    check(randomCase(rng(21), { batch: [], aBatch, bBatch }), 21);
  });

  it("the attention shapes: Q·Kᵀ and P·V over [batch, heads, seq, head]", () => {
    check({ aShape: [2, 12, 37, 64], bShape: [2, 12, 37, 64], transposeA: false, transposeB: true }, 31);
    check({ aShape: [2, 12, 37, 37], bShape: [2, 12, 37, 64], transposeA: false, transposeB: false }, 32);
  });

  it("a projection of the model's width: [40, 768]·[768, 3072] + bias", () => {
    check({ aShape: [40, 768], bShape: [768, 3072], transposeA: false, transposeB: false, biasShape: [3072] }, 41);
  });

  const activations: Activation[] = ["linear", "relu", "relu6", "elu", "leakyrelu", "sigmoid"];
  it.each(activations)("fused bias [n] and %s", (activation) => {
    // k = 200 gives sums with a standard deviation of √200/3 ≈ 4.7, so relu6's clip at 6 is reached.
    for (const [transposeA, transposeB] of [
      [false, false],
      [true, true],
    ]) {
      const c = { aShape: transposeA ? [200, 17] : [17, 200], bShape: transposeB ? [23, 200] : [200, 23], transposeA, transposeB };
      check({ ...c, biasShape: [23], activation }, 51);
    }
  });

  it.each([
    ["[1, n]", (m: number, n: number) => [1, n]],
    ["[m, n]", (m: number, n: number) => [m, n]],
    ["[1]", () => [1]],
    ["[m, 1]", (m: number) => [m, 1]],
    ["[batch, 1, n]", (_m: number, n: number) => [3, 1, n]],
  ] as const)("fused bias of shape %s", (_name, shapeOf) => {
    const c = randomCase(rng(61), { batch: [3] });
    const m = c.aShape[c.transposeA ? 2 : 1];
    const n = c.bShape[c.transposeB ? 1 : 2];
    check({ ...c, biasShape: shapeOf(m, n), activation: "relu" }, 61);
  });
});

(NATIVE_BUILT ? describe : describe.skip)("cases the native kernels hand to the cpu kernels", () => {
  beforeAll(() => registerNativeBackend());
  afterAll(() => tf.setBackend("cpu"));

  it("int32 matmul, PReLU and empty tensors give the cpu backend's results", async () => {
    await tf.setBackend("native");
    const calls = nativeCalls();
    expect(tf.matMul(tf.tensor2d([[1, 2]], [1, 2], "int32"), tf.tensor2d([[3], [4]], [2, 1], "int32")).arraySync()).toEqual([[11]]);
    const prelu = tf.fused.matMul({ a: tf.tensor2d([[1, -2]]), b: tf.tensor2d([[1], [1]]), activation: "prelu", preluActivationWeights: tf.scalar(0.5) });
    expect(prelu.arraySync()).toEqual([[-0.5]]);
    expect(tf.matMul(tf.zeros([0, 3]), tf.zeros([3, 2])).shape).toEqual([0, 2]);
    expect(nativeCalls()).toBe(calls);
  });

  it("mismatched inner dimensions throw tfjs' own error", async () => {
    await tf.setBackend("native");
    expect(() => tf.matMul(tf.zeros([2, 3]), tf.zeros([4, 2]))).toThrow(/inner shapes/);
  });
});
