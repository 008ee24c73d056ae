// The native backend's element-wise, softmax, reduction, transpose and gather kernels against
// tfjs-backend-cpu (the reference) on the same seeded random inputs. Every native case also checks
// that the addon function was called, so a silent fallback to the cpu kernel fails the test; the
// cases meant to fall back check that it was not. Skipped where the addon is not built.
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { NATIVE_BACKEND, registerNativeBackend } from "../../src/backend/native";
import { loadAddon } from "../../src/backend/native/addon";
import type { NativeBackend } from "../../src/backend/native/nativeBackend";
import { NATIVE_BUILT } from "../helpers/nativeBackends";
import { seededSigned } from "../../convert/seededRandom";

/** Deterministic uniform values in [-1, 1), so a failure reproduces. */
const rng = seededSigned;

const size = (shape: readonly number[]): number => shape.reduce((p, d) => p * d, 1);

/** Uniform values in [-scale, scale). */
function randomArray(shape: readonly number[], seed: number, scale = 1): Float32Array {
  const next = rng(seed);
  return Float32Array.from({ length: size(shape) }, () => next() * scale);
}

// ---- comparing float32 results ---------------------------------------------------------------------

const f32 = new Float32Array(1);
const bits = new Int32Array(f32.buffer);
/** The float's position on the line of float32 values (±0 both at 0), so positions differ by ulps. */
function ordered(x: number): number {
  f32[0] = x;
  return bits[0] < 0 ? -(bits[0] & 0x7fffffff) : bits[0];
}
/** Distance in float32 ulps; NaN is at distance 0 from NaN and infinitely far from anything else. */
function ulps(a: number, b: number): number {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b) ? 0 : Infinity;
  return Math.abs(ordered(a) - ordered(b));
}

interface Tolerance {
  /** Largest distance in float32 ulps accepted. */
  ulps?: number;
  /** Largest absolute difference accepted (per element: `abs` may also be a function of the index). */
  abs?: number | ((i: number) => number);
}

/** null when every element is within tolerance, else a description of the first one that is not. */
function mismatch(got: ArrayLike<number>, want: ArrayLike<number>, tol: Tolerance = {}): string | null {
  if (got.length !== want.length) return `length ${got.length}, expected ${want.length}`;
  for (let i = 0; i < want.length; i++) {
    const g = got[i],
      w = want[i];
    const abs = typeof tol.abs === "function" ? tol.abs(i) : (tol.abs ?? 0);
    if (ulps(g, w) <= (tol.ulps ?? 0) || Math.abs(g - w) <= abs) continue;
    return `element ${i}: native ${g}, cpu ${w} (${ulps(g, w)} ulps, |Δ| ${Math.abs(g - w)})`;
  }
  return null;
}

// ---- running one op on both backends ---------------------------------------------------------------

interface Result {
  shape: number[];
  dtype: tf.DataType;
  values: Float32Array | Int32Array;
}

/** `op` on `backend`: it makes its inputs there, from the same arrays on both backends. */
function runOn(backend: string, op: () => tf.Tensor): Result {
  // cpu and native initialise synchronously: setBackend has switched when it returns (its promise is only the result).
  void tf.setBackend(backend);
  return tf.tidy(() => {
    const t = op();
    return { shape: t.shape, dtype: t.dtype, values: t.dataSync() as Float32Array | Int32Array };
  });
}

/** The error message `op` throws on `backend`. */
function errorOn(backend: string, op: () => tf.Tensor): string {
  void tf.setBackend(backend); // as in runOn
  try {
    tf.tidy(op);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error(`no error on ${backend}`);
}

type AddonFunction = "binary" | "unary" | "softmax" | "reduce" | "transpose" | "matmul";
const spies = {} as Record<AddonFunction, jest.SpyInstance>;
const calls = (fn: AddonFunction): number => spies[fn].mock.calls.length;

/**
 * cpu's and native's results of `op`, after checking native called addon[fn] exactly `times` times
 * (0 for the cases handed to the cpu kernel) and that both agree on shape and dtype.
 */
function onBoth(op: () => tf.Tensor, fn: AddonFunction, times = 1): { got: Result; want: Result } {
  const want = runOn("cpu", op);
  const before = calls(fn);
  const got = runOn(NATIVE_BACKEND, op);
  expect(calls(fn) - before).toBe(times);
  expect(got.shape).toEqual(want.shape);
  expect(got.dtype).toBe(want.dtype);
  return { got, want };
}

const t = (values: Float32Array, shape: number[]) => tf.tensor(values, shape, "float32");

(NATIVE_BUILT ? describe : describe.skip)("native tensor kernels match tfjs-backend-cpu", () => {
  beforeAll(() => {
    registerNativeBackend();
    const addon = loadAddon();
    for (const fn of ["binary", "unary", "softmax", "reduce", "transpose", "matmul"] as const) spies[fn] = jest.spyOn(addon, fn);
  });
  afterAll(async () => {
    Object.values(spies).forEach((s) => s.mockRestore());
    await tf.setBackend("cpu");
  });

  describe("binary ops with broadcasting", () => {
    const ops = {
      Add: tf.add,
      Sub: tf.sub,
      Multiply: tf.mul,
      RealDiv: tf.div,
      SquaredDifference: tf.squaredDifference,
    } as const;
    /**
     * cpu computes each op in float64 and stores it as float32. For +, −, × and ÷ of float32 operands
     * that double rounding is innocuous (53 ≥ 2·24 + 2 bits), so cpu's value is the correctly rounded
     * float32 one, which C++'s float arithmetic gives too: exact. SquaredDifference: cpu squares the
     * exact difference, native squares the rounded one: (1 + u)²(1 + u) ≈ 1 + 3u, plus cpu's own
     * rounding u, is < 4 ulps.
     */
    const tolerance: Record<keyof typeof ops, Tolerance> = { Add: {}, Sub: {}, Multiply: {}, RealDiv: {}, SquaredDifference: { ulps: 4 } };

    const shapes: [string, number[], number[]][] = [
      ["same shape", [7, 13], [7, 13]],
      ["scalar on the left", [], [5, 6]],
      ["scalar on the right", [5, 6], []],
      ["scalar and scalar", [], []],
      ["[m, n] and [n]", [9, 16], [16]],
      ["[n] and [m, n]", [16], [9, 16]],
      ["[m, n] and [m, 1]", [9, 16], [9, 1]],
      ["[1, n] and [m, 1] (both sides broadcast)", [1, 8], [6, 1]],
      ["[m, 1] and [1, n]", [6, 1], [1, 8]],
      ["the attention mask: [b, 1, 1, s] and [b, h, s, s]", [2, 1, 1, 11], [2, 4, 11, 11]],
      ["[b, h, s, s] and [b, 1, 1, s]", [2, 4, 11, 11], [2, 1, 1, 11]],
      ["rank 5 and rank 3", [2, 1, 3, 1, 4], [3, 2, 1]],
      ["rank 6, both sides broadcast", [2, 3, 1, 4, 1, 5], [1, 3, 2, 1, 6, 1]],
      ["rank 6 and rank 1", [2, 1, 3, 1, 2, 5], [5]],
      ["size-1 dims in the middle", [4, 1, 5], [4, 3, 5]],
      ["size-1 dims on both, same shape", [3, 1, 1, 7], [3, 1, 1, 7]],
      ["all ones against [1]", [1, 1, 1], [1]],
      ["[k] against [b, m, k]", [5], [3, 4, 5]],
      ["a large [m, n] and [n] (split across threads)", [64, 768], [768]],
      ["a large attention mask (split across threads)", [4, 8, 32, 32], [4, 1, 1, 32]],
    ];

    const cases = shapes.flatMap(([name, aShape, bShape], i) => (Object.keys(ops) as (keyof typeof ops)[]).map((op, j) => [op, name, aShape, bShape, 100 * i + j] as const));

    it.each(cases)("%s, %s", (op, _name, aShape, bShape, seed) => {
      const a = randomArray(aShape, seed, 4);
      const b = randomArray(bShape, seed + 50, 4);
      const { got, want } = onBoth(() => ops[op](t(a, aShape), t(b, bShape)), "binary");
      expect(mismatch(got.values, want.values, tolerance[op])).toBeNull();
    });

    it("shapes that do not broadcast give cpu's error, without calling the addon", () => {
      const op = () => tf.add(tf.zeros([2, 3]), tf.zeros([4]));
      const before = calls("binary");
      expect(errorOn(NATIVE_BACKEND, op)).toBe(errorOn("cpu", op));
      expect(calls("binary")).toBe(before);
    });

    it("int32 tensors go to the cpu kernel", () => {
      const a = Int32Array.of(1, 2, 3, 4, 5, 6);
      const { got, want } = onBoth(() => tf.add(tf.tensor(a, [2, 3], "int32"), tf.tensor(Int32Array.of(10, 20, 30), [3], "int32")), "binary", 0);
      expect(Array.from(got.values)).toEqual(Array.from(want.values));
    });
  });

  describe("unary ops", () => {
    /** Negatives, zeros, tiny and huge values, and the points where exp over/underflows float32. */
    const special = [0, -0, 1, -1, 0.5, -0.5, 3, -3, 10, -10, 20, -20, 40, -40, 88, -88, 89, -89, 100, -100, 1e-30, -1e-30, 1e20, -1e20, 3.4e38, -3.4e38];
    const values = Float32Array.from([...special, ...randomArray([2000], 7, 8)]);
    /** The same magnitudes, all positive (Rsqrt and Sqrt). */
    const positive = Float32Array.from(values.filter((v) => v !== 0).map(Math.abs));
    /** Results below float32's smallest normal number (2^-126 ≈ 1.2e-38) are where exp underflows; the two
     *  sides may round them differently (native's 1 / (1 + expf(89)) is 1/∞ = 0, cpu's 2.2e-39). */
    const SUBNORMAL = 2 ** -126;

    const ops = {
      // cpu's Erf is Abramowitz–Stegun 7.1.26 (max error 1.5e-7) evaluated in float64; native is std::erf
      // (≤ 1 ulp, 6e-8 near 1); plus cpu's float32 rounding (≤ 3e-8 below 1): 2.4e-7 in all.
      Erf: { f: tf.erf, input: values, tol: { abs: 2.5e-7 } },
      // cpu: Math.exp in float64, rounded once; glibc's expf is within 1 ulp: 2 ulps.
      Exp: { f: tf.exp, input: values, tol: { ulps: 2, abs: SUBNORMAL } },
      // Native rounds sqrtf and then the division (≤ 1.5 ulps from the exact value), cpu rounds once: 2 ulps.
      Rsqrt: { f: tf.rsqrt, input: positive, tol: { ulps: 2 } },
      // Correctly rounded on both sides (float64 sqrt rounded to float32 is the float32 sqrt).
      Sqrt: { f: tf.sqrt, input: positive, tol: {} },
      // The float64 product of two float32 values is exact, so cpu's rounding equals the float32 product.
      Square: { f: tf.square, input: values, tol: {} },
      // glibc's tanhf is within 2 ulps, cpu's Math.tanh rounded once: 3 ulps.
      Tanh: { f: tf.tanh, input: values, tol: { ulps: 3 } },
      // Native 1 / (1 + expf(−x)): expf's ulp plus two roundings, cpu rounds once: 4 ulps; and results
      // below the normal range (see SUBNORMAL).
      Sigmoid: { f: tf.sigmoid, input: values, tol: { ulps: 4, abs: SUBNORMAL } },
      // Exact operations.
      Relu: { f: tf.relu, input: values, tol: {} },
      Neg: { f: tf.neg, input: values, tol: {} },
      Abs: { f: tf.abs, input: values, tol: {} },
    } as const;

    it.each(Object.keys(ops) as (keyof typeof ops)[])("%s", (name) => {
      const { f, input, tol } = ops[name];
      const { got, want } = onBoth(() => f(t(input, [input.length])), "unary");
      expect(mismatch(got.values, want.values, tol)).toBeNull();
    });

    it("a large [64, 768] input (split across threads) on Erf", () => {
      const x = randomArray([64, 768], 8, 4);
      const { got, want } = onBoth(() => tf.erf(t(x, [64, 768])), "unary");
      expect(mismatch(got.values, want.values, { abs: 2.5e-7 })).toBeNull();
    });

    it.each([
      ["Relu", tf.relu],
      ["Abs", tf.abs],
      ["Neg", tf.neg],
    ] as const)("%s propagates NaN as cpu does", (_name, f) => {
      const x = Float32Array.of(NaN, 1, -1, NaN, 0, -2.5, NaN);
      const { got, want } = onBoth(() => f(t(x, [7])), "unary");
      expect(want.values.filter(Number.isNaN)).toHaveLength(3);
      expect(mismatch(got.values, want.values)).toBeNull();
    });
  });

  describe("softmax over the last axis", () => {
    // Both subtract the row's max and divide by the sum of exps; oneDNN's vectorised exp and the other
    // summation order move probabilities (all in [0, 1]) by a few float32 ulps of 1 (6e-8 each): 1e-6.
    const TOL = { abs: 1e-6 };

    it.each([
      ["[5, 17]", [5, 17], 3],
      ["[2, 3, 33]", [2, 3, 33], 3],
      ["one row [1, 50]", [1, 50], 5],
      ["a vector [50]", [50], 5],
      ["one column [4, 1]", [4, 1], 5],
      ["a large [64, 512] (split across threads)", [64, 512], 4],
    ] as const)("%s", (_name, shape, scale) => {
      const x = randomArray(shape, 11, scale);
      const { got, want } = onBoth(() => tf.softmax(t(x, [...shape])), "softmax");
      expect(mismatch(got.values, want.values, TOL)).toBeNull();
    });

    it("masked scores: -1e30 on padded keys, a fully masked row, very large and exp-overflowing rows", () => {
      const shape = [2, 4, 9, 9];
      const x = randomArray(shape, 12, 4);
      const cols = 9;
      for (let row = 0; row < size(shape) / cols; row++) {
        const batch = Math.floor(row / (4 * 9));
        // Batch 1 has 3 padding positions: the attention mask adds -1e30 to their scores.
        if (batch === 1) for (let c = 6; c < cols; c++) x[row * cols + c] = -1e30;
      }
      x.fill(-1e30, 5 * cols, 6 * cols); // every key masked: both give the uniform 1/9
      for (let c = 0; c < cols; c++) x[7 * cols + c] = 1e4 + 30 * x[7 * cols + c]; // exp(1e4) overflows without the max
      for (let c = 0; c < cols; c++) x[8 * cols + c] = 85 + x[8 * cols + c]; // exp(89) > float32's max
      const { got, want } = onBoth(() => tf.softmax(t(x, shape)), "softmax");
      expect(mismatch(got.values, want.values, TOL)).toBeNull();
      // The masked positions got nothing, the fully masked row is uniform (sanity of the reference itself).
      expect(want.values[1 * 4 * 9 * 9 + 6]).toBe(0);
      expect(Math.abs(want.values[5 * cols] - 1 / 9)).toBeLessThan(1e-7);
    });
  });

  describe("Sum, Mean and Max", () => {
    const ops = { Sum: tf.sum, Mean: tf.mean, Max: tf.max } as const;
    type Name = keyof typeof ops;

    /**
     * Sums: cpu adds in float64 and rounds once; native adds 16 float32 lanes of ⌈cols/16⌉ terms
     * each, combined in float64. The standard bound for a float32 sum of n terms is n·u·Σ|x| (u = 2^-24),
     * so the two differ by at most (⌈cols/16⌉ + 2)·u·Σ|x| for the row (the 2: both final roundings);
     * Mean is that over cols, plus one u·Σ|x|/cols for cpu dividing each term before summing. A value
     * from a wrong row or a dropped term is off by O(1) and fails. Max selects a value: exact.
     */
    function bound(op: Name, x: Float32Array, cols: number): ((i: number) => number) | undefined {
      if (op === "Max") return undefined;
      const terms = Math.ceil(cols / 16) + 3;
      return (row: number) => {
        let absSum = 0;
        for (let c = 0; c < cols; c++) absSum += Math.abs(x[row * cols + c]);
        return (terms * 2 ** -24 * absSum) / (op === "Mean" ? cols : 1);
      };
    }

    const native: [string, number[], number[] | null][] = [
      ["[6, 50] over the last axis", [6, 50], [-1]],
      ["[7, 13] over axis 1 (fewer than 16 columns)", [7, 13], [1]],
      ["[3, 4, 40] over the last two axes", [3, 4, 40], [1, 2]],
      ["[3, 4, 40] over axes [2, 1] (unsorted)", [3, 4, 40], [2, 1]],
      ["[2, 3, 5, 37] over axes [-2, -1]", [2, 3, 5, 37], [-2, -1]],
      ["[5, 7, 3] over all axes, listed", [5, 7, 3], [0, 1, 2]],
      ["[5, 7, 3] over all axes (axis null)", [5, 7, 3], null],
      ["[100] over its only axis", [100], [0]],
      ["a large [64, 768] over the last axis (split across threads)", [64, 768], [-1]],
    ];
    const cases = native.flatMap(([name, shape, axes], i) =>
      (Object.keys(ops) as Name[]).flatMap((op, j) => [false, true].map((keepDims) => [op, name, keepDims, shape, axes, 10 * i + j] as const)),
    );

    it.each(cases)("%s, %s, keepDims %s", (op, _name, keepDims, shape, axes, seed) => {
      const x = randomArray(shape, seed, 2);
      const { got, want } = onBoth(() => ops[op](t(x, shape), axes ?? undefined, keepDims), "reduce");
      const reduced = axes === null ? shape.length : axes.length;
      expect(mismatch(got.values, want.values, { abs: bound(op, x, size(shape.slice(shape.length - reduced))) })).toBeNull();
    });

    it("Max lets NaN win, as cpu does", () => {
      const x = randomArray([3, 20], 77);
      x[5] = NaN; // row 0, middle
      x[20] = NaN; // row 1, first
      const { got, want } = onBoth(() => tf.max(t(x, [3, 20]), -1), "reduce");
      expect(Number.isNaN(want.values[0]) && Number.isNaN(want.values[1]) && !Number.isNaN(want.values[2])).toBe(true);
      expect(mismatch(got.values, want.values)).toBeNull();
    });

    const fallback: [string, number[], number[]][] = [
      ["[6, 5] over axis 0", [6, 5], [0]],
      ["[3, 4, 5] over axis 1", [3, 4, 5], [1]],
      ["[3, 4, 5] over axes [0, 2]", [3, 4, 5], [0, 2]],
    ];
    const fallbackCases = fallback.flatMap(([name, shape, axes], i) =>
      (Object.keys(ops) as Name[]).flatMap((op, j) => [false, true].map((keepDims) => [op, name, keepDims, shape, axes, 500 + 10 * i + j] as const)),
    );

    // Not the trailing axes: the cpu kernel runs on the native backend's data, so the results are the
    // cpu backend's own, to the bit.
    it.each(fallbackCases)("%s, %s, keepDims %s: the cpu kernel, same result", (op, _name, keepDims, shape, axes, seed) => {
      const x = randomArray(shape, seed, 2);
      const { got, want } = onBoth(() => ops[op](t(x, shape), axes, keepDims), "reduce", 0);
      expect(mismatch(got.values, want.values)).toBeNull();
    });
  });

  describe("Transpose", () => {
    // A permutation moves values without arithmetic: exact.
    it.each([
      ["[37, 53] by [1, 0]", [37, 53], [1, 0]],
      ["[2, 11, 4, 16] by [0, 2, 1, 3] (heads split)", [2, 11, 4, 16], [0, 2, 1, 3]],
      ["[2, 3, 9, 7] by [0, 1, 3, 2] (keys transposed)", [2, 3, 9, 7], [0, 1, 3, 2]],
      ["[2, 3, 4, 5] by [3, 2, 1, 0]", [2, 3, 4, 5], [3, 2, 1, 0]],
      ["rank 5 [2, 3, 4, 5, 6] by [4, 0, 3, 1, 2]", [2, 3, 4, 5, 6], [4, 0, 3, 1, 2]],
      ["rank 5 with size-1 dims [3, 1, 4, 1, 5] by [2, 4, 1, 0, 3]", [3, 1, 4, 1, 5], [2, 4, 1, 0, 3]],
      ["rank 6 [2, 1, 3, 2, 1, 4] by [5, 3, 1, 4, 2, 0]", [2, 1, 3, 2, 1, 4], [5, 3, 1, 4, 2, 0]],
      ["a large [4, 64, 8, 32] by [0, 2, 1, 3] (split across threads)", [4, 64, 8, 32], [0, 2, 1, 3]],
    ] as const)("%s", (_name, shape, perm) => {
      const x = randomArray(shape, size(shape));
      const { got, want } = onBoth(() => tf.transpose(t(x, [...shape]), [...perm]), "transpose");
      expect(mismatch(got.values, want.values)).toBeNull();
    });
  });

  describe("GatherV2 of embedding rows", () => {
    const [V, H] = [50, 16];
    const table = randomArray([V, H], 91);
    let backend: NativeBackend;
    let outputs: jest.SpyInstance;
    beforeAll(async () => {
      await tf.setBackend(NATIVE_BACKEND);
      backend = tf.backend() as NativeBackend;
      outputs = jest.spyOn(backend, "output");
    });
    afterAll(() => outputs.mockRestore());

    /** The gather on both backends; on native it must fill one recycled output (its own kernel, not cpu's). */
    function gatherBoth(ids: Int32Array, shape: number[]): { got: Result; want: Result } {
      const op = () => tf.gather(t(table, [V, H]), tf.tensor(ids, shape, "int32"));
      const want = runOn("cpu", op);
      const before = outputs.mock.calls.length;
      const got = runOn(NATIVE_BACKEND, op);
      expect(outputs.mock.calls.slice(before)).toEqual([[ids.length * H]]);
      return { got, want };
    }

    it.each([
      ["ids [3, 7]", [3, 7]],
      ["ids [11]", [11]],
      ["one id", [1]],
    ])("%s: the rows cpu gives (copies: exact)", (_name, shape) => {
      const next = rng(size(shape));
      const ids = Int32Array.from({ length: size(shape) }, () => Math.floor(((next() + 1) / 2) * V));
      ids[0] = V - 1; // the last row too
      const { got, want } = gatherBoth(ids, shape);
      expect(got.shape).toEqual(want.shape);
      expect(mismatch(got.values, want.values)).toBeNull();
    });

    it("repeated ids give repeated rows", () => {
      const { got, want } = gatherBoth(Int32Array.of(4, 4, 0, 4), [4]);
      expect(mismatch(got.values, want.values)).toBeNull();
    });

    it.each([
      ["one past the last row", Int32Array.of(0, V)],
      ["a negative id", Int32Array.of(-1, 2)],
    ])("%s: the cpu backend's error", (_name, ids) => {
      const op = () => tf.gather(t(table, [V, H]), tf.tensor(ids, [ids.length], "int32"));
      const cpuError = errorOn("cpu", op);
      expect(cpuError).toMatch(/GatherV2: the index value -?\d+ is not in \[0, 49\]/);
      expect(errorOn(NATIVE_BACKEND, op)).toBe(cpuError);
    });
  });
});
