// Bad calls into the addon throw JS errors: none may read or write out of bounds or crash the process
// (a crash would take this jest worker down and fail the suite). Skipped where the addon is not built.
import { Dims3, loadAddon, NativeAddon } from "../src/backend/native/addon";
import { NATIVE_BUILT } from "./nativeBackends";

(NATIVE_BUILT ? describe : describe.skip)("the native addon's argument checks", () => {
  let addon: NativeAddon;
  beforeAll(() => (addon = loadAddon()));

  const a = new Float32Array(6); // [1, 2, 3]
  const b = new Float32Array(12); // [1, 3, 4]
  const ok: Parameters<NativeAddon["matmul"]> = [a, [1, 2, 3], b, [1, 3, 4], false, false, null, null, 0, 0];
  const withArgs = (changes: Record<number, unknown>): unknown[] => ok.map((v, i) => (i in changes ? changes[i] : v));
  const call = (args: unknown[]) => () => (addon.matmul as (...xs: unknown[]) => Float32Array)(...args);

  it("a good call works: [2, 3]·[3, 4] of ones is 3 everywhere", () => {
    const out = addon.matmul(a.fill(1), [1, 2, 3], b.fill(1), [1, 3, 4], false, false, null, null, 0, 0);
    expect(Array.from(out)).toEqual(new Array(8).fill(3));
  });

  it.each([
    ["too few arguments", ok.slice(0, 9), /expected 10 arguments/],
    ["a plain array for a", withArgs({ 0: [1, 2, 3, 4, 5, 6] }), /a must be a Float32Array/],
    ["an Int32Array for b", withArgs({ 2: new Int32Array(12) }), /b must be a Float32Array/],
    ["a Float64Array for a", withArgs({ 0: new Float64Array(6) }), /a must be a Float32Array/],
    ["an empty a", withArgs({ 0: new Float32Array(0) }), /a must not be empty/],
    ["a shorter than its dims", withArgs({ 1: [1, 2, 4] }), /a has 6 values, its dimensions say 8/],
    ["a longer than its dims (a view)", withArgs({ 0: new Float32Array(8).subarray(1, 8) }), /a has 7 values/],
    ["two dims", withArgs({ 1: [2, 3] }), /aDims must be an array of 3/],
    ["a zero dim", withArgs({ 3: [1, 0, 4] }), /positive integers/],
    ["a negative dim", withArgs({ 3: [1, -3, 4] }), /positive integers/],
    ["a fractional dim", withArgs({ 1: [1, 2.5, 3] }), /positive integers/],
    ["a NaN dim", withArgs({ 1: [1, NaN, 3] }), /positive integers/],
    ["a string dim", withArgs({ 1: [1, "2", 3] }), /positive integers/],
    ["dims whose product overflows", withArgs({ 1: [2 ** 31 - 1, 2 ** 31 - 1, 2 ** 31 - 1] }), /too large/],
    ["inner dims that differ", withArgs({ 5: true }), /inner dimensions differ/],
    ["batches that do not broadcast", withArgs({ 0: new Float32Array(12), 1: [2, 2, 3], 2: new Float32Array(36), 3: [3, 3, 4] }), /do not broadcast/],
    ["a number for transposeA", withArgs({ 4: 1 }), /transposeA must be a boolean/],
    ["bias without its dims", withArgs({ 6: new Float32Array(4) }), /bias and biasDims go together/],
    ["bias dims that do not broadcast", withArgs({ 6: new Float32Array(3), 7: [1, 1, 3] }), /do not broadcast/],
    ["bias shorter than its dims", withArgs({ 6: new Float32Array(3), 7: [1, 2, 4] }), /bias has 3 values/],
    ["an unknown activation", withArgs({ 8: 99 }), /activation must be an integer code/],
    ["a fractional activation", withArgs({ 8: 1.5 }), /activation must be an integer code/],
    ["a string alpha", withArgs({ 9: "0.1" }), /alpha must be a number/],
  ])("%s throws", (_name, args, message) => {
    expect(call(args as unknown[])).toThrow(message);
  });

  it("thread counts are checked", () => {
    expect(() => addon.setThreads(0)).toThrow(/threads must be an integer/);
    expect(() => addon.setThreads(2.5)).toThrow(/threads must be an integer/);
    const before = addon.threads();
    addon.setThreads(1);
    expect(addon.threads()).toBe(1);
    addon.setThreads(before);
  });

  it("after all those, a good call still gives the right product", () => {
    const dims: Dims3 = [1, 1, 1];
    expect(Array.from(addon.matmul(Float32Array.of(2), dims, Float32Array.of(3), dims, false, false, Float32Array.of(1), dims, 0, 0))).toEqual([7]);
  });
});
