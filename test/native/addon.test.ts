// Bad calls into the addon throw JS errors: none may read or write out of bounds or crash the process
// (a crash would take this jest worker down and fail the suite), and a refused call writes nothing into
// `out`. Skipped where the addon is not built.
import type { Dims3, NativeAddon } from "../../src/backend/native/addon";
import { BINARY_CODES, loadAddon, REDUCE_CODES, UNARY_CODES } from "../../src/backend/native/addon";
import { NATIVE_BUILT } from "../helpers/nativeBackends";

/** What every `out` holds before a call that must be refused: any write would change it. */
const SENTINEL = -7.25;
const sentinel = (n: number): Float32Array => new Float32Array(n).fill(SENTINEL);
const BIG = 2 ** 31 - 1;
const ADD = BINARY_CODES.Add;

(NATIVE_BUILT ? describe : describe.skip)("the native addon's argument checks", () => {
  let addon: NativeAddon;
  beforeAll(() => (addon = loadAddon()));

  /** Calls addon[name] with exactly these arguments (bypassing the types, as a buggy caller would). */
  const call = (name: keyof NativeAddon, args: unknown[]) => () => (addon[name] as (...xs: unknown[]) => unknown)(...args);
  /** `ok` with the arguments at the given positions replaced. */
  const withArgs = (ok: unknown[], changes: Record<number, unknown>): unknown[] => ok.map((v, i) => (i in changes ? changes[i] : v));
  /** The refused call threw `message` and left every `out`-sized Float32Array it was given untouched. */
  function expectRefused(name: keyof NativeAddon, args: unknown[], message: RegExp, out?: Float32Array): void {
    out?.fill(SENTINEL);
    expect(call(name, args)).toThrow(message);
    if (out !== undefined) expect(out.every((v) => v === SENTINEL)).toBe(true);
  }

  describe("matmul", () => {
    const a = new Float32Array(6); // [1, 2, 3]
    const b = new Float32Array(12); // [1, 3, 4]
    const out = sentinel(8); // [1, 2, 4]
    const ok: unknown[] = [a, [1, 2, 3], b, [1, 3, 4], false, false, null, null, 0, 0, out];
    const w = (changes: Record<number, unknown>) => withArgs(ok, changes);

    it("a good call works: [2, 3]·[3, 4] of ones is 3 everywhere", () => {
      const result = sentinel(8);
      expect(addon.matmul(a.fill(1), [1, 2, 3], b.fill(1), [1, 3, 4], false, false, null, null, 0, 0, result)).toBeUndefined();
      expect(Array.from(result)).toEqual(new Array(8).fill(3));
    });

    it.each([
      ["too few arguments", ok.slice(0, 10), /expected 11 arguments, got 10/],
      ["too many arguments", [...ok, null], /expected 11 arguments, got 12/],
      ["a plain array for a", w({ 0: [1, 2, 3, 4, 5, 6] }), /a must be a Float32Array/],
      ["an Int32Array for b", w({ 2: new Int32Array(12) }), /b must be a Float32Array/],
      ["a Float64Array for a", w({ 0: new Float64Array(6) }), /a must be a Float32Array/],
      ["an empty a", w({ 0: new Float32Array(0) }), /a must not be empty/],
      ["a shorter than its dims", w({ 1: [1, 2, 4] }), /a has 6 values, its dimensions say 8/],
      ["a longer than its dims (a view)", w({ 0: new Float32Array(8).subarray(1, 8) }), /a has 7 values/],
      ["two dims", w({ 1: [2, 3] }), /aDims must be an array of 3/],
      ["a zero dim", w({ 3: [1, 0, 4] }), /positive integers/],
      ["a negative dim", w({ 3: [1, -3, 4] }), /positive integers/],
      ["a fractional dim", w({ 1: [1, 2.5, 3] }), /positive integers/],
      ["a NaN dim", w({ 1: [1, NaN, 3] }), /positive integers/],
      ["a string dim", w({ 1: [1, "2", 3] }), /positive integers/],
      ["a dim of 2^31", w({ 1: [1, 2 ** 31, 3] }), /positive integers below 2\^31/],
      ["dims whose product overflows", w({ 1: [BIG, BIG, BIG] }), /too large/],
      ["inner dims that differ", w({ 5: true }), /inner dimensions differ/],
      ["batches that do not broadcast", w({ 0: new Float32Array(12), 1: [2, 2, 3], 2: new Float32Array(36), 3: [3, 3, 4] }), /do not broadcast/],
      ["a number for transposeA", w({ 4: 1 }), /transposeA must be a boolean/],
      ["bias without its dims", w({ 6: new Float32Array(4) }), /bias and biasDims go together/],
      ["bias dims that do not broadcast", w({ 6: new Float32Array(3), 7: [1, 1, 3] }), /do not broadcast/],
      ["bias shorter than its dims", w({ 6: new Float32Array(3), 7: [1, 2, 4] }), /bias has 3 values/],
      ["an unknown activation", w({ 8: 99 }), /activation must be an integer code/],
      ["a fractional activation", w({ 8: 1.5 }), /activation must be an integer code/],
      ["a negative activation", w({ 8: -1 }), /activation must be an integer code/],
      ["a string alpha", w({ 9: "0.1" }), /alpha must be a number/],
      ["out one value short", w({ 10: new Float32Array(7) }), /out has 7 values, its dimensions say 8/],
      ["out one value long", w({ 10: new Float32Array(9) }), /out has 9 values, its dimensions say 8/],
      ["a plain array for out", w({ 10: new Array(8).fill(0) }), /out must be a Float32Array/],
      ["a Float64Array for out", w({ 10: new Float64Array(8) }), /out must be a Float32Array/],
      ["null for out", w({ 10: null }), /out must be a Float32Array/],
      ["an empty out", w({ 10: new Float32Array(0) }), /out must not be empty/],
    ])("%s throws", (_name, args, message) => {
      expectRefused("matmul", args, message, out);
    });
  });

  describe("binary", () => {
    const a = new Float32Array(6); // [2, 3]
    const b = new Float32Array(3); // [3]
    const out = sentinel(6);
    const ok: unknown[] = [ADD, a, [2, 3], b, [3], out];
    const w = (changes: Record<number, unknown>) => withArgs(ok, changes);
    const nine = new Array<number>(9).fill(1);

    it.each([
      ["too few arguments", ok.slice(0, 5), /expected 6 arguments, got 5/],
      ["no arguments", [], /expected 6 arguments, got 0/],
      ["an op code one past the last", w({ 0: 5 }), /op must be an integer code below 5/],
      ["a negative op code", w({ 0: -1 }), /op must be an integer code below 5/],
      ["a fractional op code", w({ 0: 0.5 }), /op must be an integer code below 5/],
      ["a NaN op code", w({ 0: NaN }), /op must be an integer code below 5/],
      ["a string op code", w({ 0: "0" }), /op must be a number/],
      ["a plain array for a", w({ 1: [1, 2, 3, 4, 5, 6] }), /a must be a Float32Array/],
      ["an Int32Array for b", w({ 3: new Int32Array(3) }), /b must be a Float32Array/],
      ["an empty a", w({ 1: new Float32Array(0), 2: [0] }), /a must not be empty/],
      ["a shorter than its shape", w({ 2: [2, 4] }), /a has 6 values, its dimensions say 8/],
      ["b longer than its shape", w({ 4: [2] }), /b has 3 values, its dimensions say 2/],
      ["a shape that is not an array", w({ 2: 6 }), /aShape must be an array of at most 8 dimensions/],
      ["a shape of rank 9", w({ 1: new Float32Array(1), 2: nine }), /aShape must be an array of at most 8 dimensions/],
      ["a zero dim", w({ 4: [0, 3] }), /bShape must hold positive integers/],
      ["a negative dim", w({ 2: [-2, -3] }), /aShape must hold positive integers/],
      ["a fractional dim", w({ 2: [1.5, 4] }), /aShape must hold positive integers/],
      ["a NaN dim", w({ 4: [NaN] }), /bShape must hold positive integers/],
      ["dims whose product overflows", w({ 2: new Array<number>(8).fill(BIG) }), /a is too large/],
      ["dims whose product passes 2^40", w({ 2: [2 ** 20, 2 ** 20, 2] }), /a is too large/],
      ["shapes that do not broadcast: [2, 3] and [2]", w({ 3: new Float32Array(2), 4: [2] }), /the shapes of a and b do not broadcast/],
      ["shapes that do not broadcast: [2, 3] and [3, 3]", w({ 3: new Float32Array(9), 4: [3, 3] }), /do not broadcast/],
      ["out sized for a alone when b broadcasts it", w({ 3: new Float32Array(6), 4: [3, 2, 1] }), /out has 6 values, its dimensions say 18/],
      ["out one value short", w({ 5: new Float32Array(5) }), /out has 5 values, its dimensions say 6/],
      ["out a view one value long", w({ 5: new Float32Array(8).subarray(1, 8) }), /out has 7 values, its dimensions say 6/],
      ["a plain array for out", w({ 5: new Array(6).fill(0) }), /out must be a Float32Array/],
      ["an Int32Array for out", w({ 5: new Int32Array(6) }), /out must be a Float32Array/],
      ["undefined for out", w({ 5: undefined }), /out must be a Float32Array/],
    ])("%s throws", (_name, args, message) => {
      expectRefused("binary", args, message, out);
    });
  });

  describe("unary", () => {
    const x = new Float32Array(4);
    const out = sentinel(4);
    const ok: unknown[] = [UNARY_CODES.Exp, x, out];
    const w = (changes: Record<number, unknown>) => withArgs(ok, changes);

    it.each([
      ["too few arguments", ok.slice(0, 2), /expected 3 arguments, got 2/],
      ["an op code one past the last", w({ 0: 10 }), /op must be an integer code below 10/],
      ["a negative op code", w({ 0: -1 }), /op must be an integer code below 10/],
      ["a fractional op code", w({ 0: 2.5 }), /op must be an integer code below 10/],
      ["an Infinity op code", w({ 0: Infinity }), /op must be an integer code below 10/],
      ["null for the op", w({ 0: null }), /op must be a number/],
      ["a plain array for x", w({ 1: [1, 2, 3, 4] }), /x must be a Float32Array/],
      ["a Float64Array for x", w({ 1: new Float64Array(4) }), /x must be a Float32Array/],
      ["an empty x", w({ 1: new Float32Array(0) }), /x must not be empty/],
      ["out one value short", w({ 2: new Float32Array(3) }), /out has 3 values, its dimensions say 4/],
      ["out one value long", w({ 2: new Float32Array(5) }), /out has 5 values, its dimensions say 4/],
      ["a Uint8Array for out", w({ 2: new Uint8Array(16) }), /out must be a Float32Array/],
    ])("%s throws", (_name, args, message) => {
      expectRefused("unary", args, message, out);
    });
  });

  describe("softmax and reduce", () => {
    const x = new Float32Array(6); // [2, 3]
    const soft = sentinel(6);
    const red = sentinel(2);
    const softOk: unknown[] = [x, [2, 3], soft];
    const redOk: unknown[] = [REDUCE_CODES.Sum, x, [2, 3], red];

    it.each([
      ["too few arguments", softOk.slice(0, 2), /expected 3 arguments, got 2/],
      ["a plain array for x", withArgs(softOk, { 0: [1, 2, 3, 4, 5, 6] }), /x must be a Float32Array/],
      ["an empty x", withArgs(softOk, { 0: new Float32Array(0) }), /x must not be empty/],
      ["one dim", withArgs(softOk, { 1: [6] }), /dims must be an array of 2 dimensions/],
      ["three dims", withArgs(softOk, { 1: [1, 2, 3] }), /dims must be an array of 2 dimensions/],
      ["dims that say more values", withArgs(softOk, { 1: [2, 4] }), /x has 6 values, its dimensions say 8/],
      ["dims that say fewer values", withArgs(softOk, { 1: [1, 3] }), /x has 6 values, its dimensions say 3/],
      ["a zero dim", withArgs(softOk, { 1: [0, 6] }), /dims must hold positive integers/],
      ["a negative dim", withArgs(softOk, { 1: [-2, -3] }), /dims must hold positive integers/],
      ["a fractional dim", withArgs(softOk, { 1: [2.5, 2.4] }), /dims must hold positive integers/],
      ["a NaN dim", withArgs(softOk, { 1: [2, NaN] }), /dims must hold positive integers/],
      ["dims whose product passes 2^40", withArgs(softOk, { 1: [BIG, BIG] }), /x is too large/],
      ["out one value short", withArgs(softOk, { 2: new Float32Array(5) }), /out has 5 values, its dimensions say 6/],
      ["out of one value per row (reduce's size)", withArgs(softOk, { 2: new Float32Array(2) }), /out has 2 values, its dimensions say 6/],
      ["a Float64Array for out", withArgs(softOk, { 2: new Float64Array(6) }), /out must be a Float32Array/],
    ])("softmax: %s throws", (_name, args, message) => {
      expectRefused("softmax", args, message, soft);
    });

    it.each([
      ["too few arguments", redOk.slice(0, 3), /expected 4 arguments, got 3/],
      ["an op code one past the last", withArgs(redOk, { 0: 3 }), /op must be an integer code below 3/],
      ["a negative op code", withArgs(redOk, { 0: -1 }), /op must be an integer code below 3/],
      ["a fractional op code", withArgs(redOk, { 0: 1.5 }), /op must be an integer code below 3/],
      ["a string op code", withArgs(redOk, { 0: "Sum" }), /op must be a number/],
      ["an Int32Array for x", withArgs(redOk, { 1: new Int32Array(6) }), /x must be a Float32Array/],
      ["an empty x", withArgs(redOk, { 1: new Float32Array(0) }), /x must not be empty/],
      ["dims that say more values", withArgs(redOk, { 2: [3, 3] }), /x has 6 values, its dimensions say 9/],
      ["a dims object instead of an array", withArgs(redOk, { 2: { 0: 2, 1: 3, length: 2 } }), /dims must be an array of 2 dimensions/],
      ["a zero dim", withArgs(redOk, { 2: [2, 0] }), /dims must hold positive integers/],
      ["dims whose product passes 2^40", withArgs(redOk, { 2: [BIG, BIG] }), /x is too large/],
      ["out of x's size (softmax's)", withArgs(redOk, { 3: new Float32Array(6) }), /out has 6 values, its dimensions say 2/],
      ["out of one value per column", withArgs(redOk, { 3: new Float32Array(3) }), /out has 3 values, its dimensions say 2/],
      ["a plain array for out", withArgs(redOk, { 3: [0, 0] }), /out must be a Float32Array/],
    ])("reduce: %s throws", (_name, args, message) => {
      expectRefused("reduce", args, message, red);
    });
  });

  describe("transpose", () => {
    const x = new Float32Array(24); // [2, 3, 4]
    const out = sentinel(24);
    const ok: unknown[] = [x, [2, 3, 4], [2, 0, 1], out];
    const w = (changes: Record<number, unknown>) => withArgs(ok, changes);

    it.each([
      ["too few arguments", ok.slice(0, 3), /expected 4 arguments, got 3/],
      ["a plain array for x", w({ 0: new Array(24).fill(0) }), /x must be a Float32Array/],
      ["an empty x", w({ 0: new Float32Array(0) }), /x must not be empty/],
      ["a shape that says more values", w({ 1: [2, 3, 5] }), /x has 24 values, its dimensions say 30/],
      [
        "a shape of rank 9",
        w({ 0: new Float32Array(1), 1: new Array<number>(9).fill(1), 2: [0, 1, 2, 3, 4, 5, 6, 7, 8], 3: new Float32Array(1) }),
        /xShape must be an array of at most 8 dimensions/,
      ],
      ["a negative dim", w({ 1: [-2, -3, 4] }), /xShape must hold positive integers/],
      ["a NaN dim", w({ 1: [2, NaN, 4] }), /xShape must hold positive integers/],
      ["dims whose product overflows", w({ 1: [BIG, BIG, BIG] }), /x is too large/],
      ["a perm one axis short", w({ 2: [1, 0] }), /perm must be an array of 3 dimensions/],
      ["a perm one axis long", w({ 2: [3, 2, 1, 0] }), /perm must be an array of 3 dimensions/],
      ["a perm that is not an array", w({ 2: "210" }), /perm must be an array of 3 dimensions/],
      ["a perm that repeats an axis", w({ 2: [0, 0, 1] }), /perm must be a permutation of the axes of x/],
      ["a perm naming an axis past the last", w({ 2: [0, 1, 3] }), /perm must be a permutation of the axes of x/],
      ["a perm naming an axis far past the last", w({ 2: [0, 1, BIG] }), /perm must be a permutation of the axes of x/],
      ["a negative perm entry", w({ 2: [-1, 0, 1] }), /perm must hold integers from 0/],
      ["a fractional perm entry", w({ 2: [0.5, 1, 2] }), /perm must hold integers from 0/],
      ["a NaN perm entry", w({ 2: [NaN, 1, 2] }), /perm must hold integers from 0/],
      ["out one value short", w({ 3: new Float32Array(23) }), /out has 23 values, its dimensions say 24/],
      ["a Float64Array for out", w({ 3: new Float64Array(24) }), /out must be a Float32Array/],
    ])("%s throws", (_name, args, message) => {
      expectRefused("transpose", args, message, out);
    });
  });

  it("thread counts are checked", () => {
    expect(() => addon.setThreads(0)).toThrow(/threads must be an integer/);
    expect(() => addon.setThreads(2.5)).toThrow(/threads must be an integer/);
    const before = addon.threads();
    addon.setThreads(1);
    expect(addon.threads()).toBe(1);
    addon.setThreads(before);
  });

  // Expected values below are exact small-integer arithmetic worked out by hand (every intermediate
  // is representable in float32), so each comparison is exact.
  describe("after all those, good calls still compute the right answers", () => {
    it("matmul: 2·3 + 1 = 7", () => {
      const dims: Dims3 = [1, 1, 1];
      const out = sentinel(1);
      addon.matmul(Float32Array.of(2), dims, Float32Array.of(3), dims, false, false, Float32Array.of(1), dims, 0, 0, out);
      expect(Array.from(out)).toEqual([7]);
    });

    it("binary: [[1], [2]] (shape [2, 1]) op [10, 20, 30] broadcasts to [2, 3]", () => {
      const a = Float32Array.of(1, 2);
      const b = Float32Array.of(10, 20, 30);
      const out = sentinel(6);
      addon.binary(BINARY_CODES.Add, a, [2, 1], b, [3], out);
      expect(Array.from(out)).toEqual([11, 21, 31, 12, 22, 32]);
      addon.binary(BINARY_CODES.Sub, a, [2, 1], b, [3], out);
      expect(Array.from(out)).toEqual([-9, -19, -29, -8, -18, -28]);
      addon.binary(BINARY_CODES.Multiply, a, [2, 1], b, [3], out);
      expect(Array.from(out)).toEqual([10, 20, 30, 20, 40, 60]);
      addon.binary(BINARY_CODES.RealDiv, b, [3], a, [2, 1], out);
      expect(Array.from(out)).toEqual([10, 20, 30, 5, 10, 15]);
      addon.binary(BINARY_CODES.SquaredDifference, a, [2, 1], b, [3], out);
      expect(Array.from(out)).toEqual([81, 361, 841, 64, 324, 784]);
    });

    it("unary: Square, Neg, Abs, Relu, Sqrt", () => {
      const x = Float32Array.of(-3, 0, 4);
      const out = sentinel(3);
      const run = (op: number, input = x) => (addon.unary(op, input, out), Array.from(out));
      expect(run(UNARY_CODES.Square)).toEqual([9, 0, 16]);
      expect(run(UNARY_CODES.Neg)).toEqual([3, -0, -4]);
      expect(run(UNARY_CODES.Abs)).toEqual([3, 0, 4]);
      expect(run(UNARY_CODES.Relu)).toEqual([0, 0, 4]);
      expect(run(UNARY_CODES.Sqrt, Float32Array.of(9, 0, 16))).toEqual([3, 0, 4]);
    });

    it("softmax: a row of equal values is uniform; reduce: Sum, Mean and Max per row", () => {
      const soft = sentinel(4);
      addon.softmax(Float32Array.of(5, 5, 5, 5), [1, 4], soft);
      expect(Array.from(soft)).toEqual([0.25, 0.25, 0.25, 0.25]);
      const x = Float32Array.of(1, 2, 3, -4, 8, 2);
      const out = sentinel(2);
      addon.reduce(REDUCE_CODES.Sum, x, [2, 3], out);
      expect(Array.from(out)).toEqual([6, 6]);
      addon.reduce(REDUCE_CODES.Mean, x, [2, 3], out);
      expect(Array.from(out)).toEqual([2, 2]);
      addon.reduce(REDUCE_CODES.Max, x, [2, 3], out);
      expect(Array.from(out)).toEqual([3, 8]);
    });

    it("transpose: [2, 3] → [3, 2]", () => {
      const out = sentinel(6);
      addon.transpose(Float32Array.of(1, 2, 3, 4, 5, 6), [2, 3], [1, 0], out);
      expect(Array.from(out)).toEqual([1, 4, 2, 5, 3, 6]);
    });
  });
});
