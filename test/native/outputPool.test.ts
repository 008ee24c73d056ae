// The native backend's output pool (pure JavaScript, so it runs where the addon is not built too).
import { OutputPool, PASSES_REMEMBERED, sizeClass } from "../../src/backend/native/outputPool";

describe("sizeClass", () => {
  it("holds the length, with at most 1/8 unused above 16 values, for every length up to 2^20 and some beyond", () => {
    const lengths = [...Array.from({ length: 1 << 20 }, (_, i) => i + 1), 2048 * 768, 8 * 12 * 512 * 512, 2 ** 31 - 1];
    for (const n of lengths) {
      const c = sizeClass(n);
      if (!(c >= n && (n <= 16 ? c === 16 : c <= n * 1.125))) throw new Error(`sizeClass(${n}) = ${c}`);
    }
  });

  it("maps nearby lengths to one class, so batches of other sequence lengths share buffers", () => {
    // 8 × 250 and 8 × 256 tokens of hidden 768.
    expect(sizeClass(8 * 250 * 768)).toBe(sizeClass(8 * 256 * 768));
  });
});

describe("OutputPool", () => {
  it("gives back a returned buffer for a length of its class, and a fresh one otherwise", () => {
    const pool = new OutputPool();
    const a = pool.take(1000);
    expect(a.length).toBe(1000);
    pool.give(a.buffer as ArrayBuffer);
    expect(pool.bytes).toBe(a.buffer.byteLength);
    const b = pool.take(990); // same class as 1000
    expect(b.buffer).toBe(a.buffer);
    expect(b.length).toBe(990);
    expect(pool.bytes).toBe(0);
    expect(pool.take(1000).buffer).not.toBe(a.buffer); // taken: a new one
  });

  it("keeps no more than its byte bound, dropping the least recently used classes first", () => {
    const pool = new OutputPool(4096);
    const [a, b] = [pool.take(512), pool.take(512)].map((x) => x.buffer as ArrayBuffer); // 2048 bytes each
    const big = pool.take(1000).buffer as ArrayBuffer; // 4096 bytes
    pool.give(a);
    pool.give(b);
    expect(pool.bytes).toBe(4096);
    // The newest buffer is kept; the older class makes room.
    pool.give(big);
    expect(pool.bytes).toBe(4096);
    expect(pool.take(1000).buffer).toBe(big);
    expect(pool.take(512).buffer).not.toBe(a);
    // A buffer larger than the bound is not kept at all.
    const huge = new OutputPool(1024);
    huge.give(new ArrayBuffer(2048));
    expect(huge.bytes).toBe(0);
  });

  it("after a run of one shape then a larger one, keeps the second's buffers", () => {
    const pool = new OutputPool(4 * 8192);
    const first = [pool.take(2000), pool.take(2000), pool.take(2000)].map((x) => x.buffer as ArrayBuffer); // 8192 bytes each
    first.forEach((x) => pool.give(x));
    // 2000 values are in the 2048-value class, 2300 in the 2304 one: no free buffer is large enough.
    const second = [pool.take(2300), pool.take(2300), pool.take(2300), pool.take(2300)].map((x) => x.buffer as ArrayBuffer);
    expect(second.some((x) => first.includes(x))).toBe(false);
    second.forEach((x) => pool.give(x));
    expect([pool.take(2300).buffer, pool.take(2300).buffer].every((x) => second.includes(x as ArrayBuffer))).toBe(true);
  });

  it("serves a shorter length from a free buffer up to twice its class, and allocates beyond that", () => {
    const pool = new OutputPool();
    const long = [pool.take(2000), pool.take(2000)].map((x) => x.buffer as ArrayBuffer); // the 2048-value class
    long.forEach((x) => pool.give(x));
    // 1500 values (the 1536 class) fit in 2048: the longer batch's buffer, as a view of 1500 values.
    const shorter = pool.take(1500);
    expect(long).toContain(shorter.buffer);
    expect(shorter.length).toBe(1500);
    // 900 values (the 960 class): 2048 is more than twice that, so a buffer of its own.
    expect(long).not.toContain(pool.take(900).buffer);
  });

  it("a pass whose steps use different classes at different times runs again with no new buffer", () => {
    // Step 1 has two 1000-value outputs alive, step 2 one 4000-value output: 8 KiB or 16 KiB in use at once, a
    // working set of 24 KiB. Keeping only the peak in use (16 KiB) would drop step 1's buffers at step 2.
    const pool = new OutputPool();
    const pass = (): ArrayBuffer[] => {
      const step1 = [pool.take(1000), pool.take(1000)].map((x) => x.buffer as ArrayBuffer);
      step1.forEach((x) => pool.give(x));
      const step2 = pool.take(4000).buffer as ArrayBuffer;
      pool.give(step2);
      pool.endPass();
      return [...step1, step2];
    };
    const first = pass();
    expect(pool.bytes).toBe(2 * 4096 + 16384);
    const second = pass();
    expect(new Set([...first, ...second]).size).toBe(3);
    expect(pool.bytes).toBe(2 * 4096 + 16384);
  });

  it("keeps no more free than a recent pass's working set (its most buffers of each class in use at once)", () => {
    const pool = new OutputPool();
    // One pass with two 4096-byte outputs alive at once, then a third after one of them went back.
    const a = pool.take(1000).buffer as ArrayBuffer;
    const b = pool.take(1000).buffer as ArrayBuffer;
    pool.give(a);
    const c = pool.take(1000).buffer as ArrayBuffer;
    expect(c).toBe(a); // reused
    pool.give(b);
    pool.give(c);
    pool.endPass();
    expect(pool.bytes).toBe(2 * 4096);
    // Outputs that were never in use at once in a recent pass are not kept: a buffer given back beyond them is dropped.
    pool.give(new ArrayBuffer(4096));
    expect(pool.bytes).toBe(2 * 4096);
  });

  it("after a run of long passes, shrinks to what short passes need within PASSES_REMEMBERED passes, and the same shapes again allocate nothing", () => {
    const pool = new OutputPool();
    const long = () => [pool.take(1 << 20), pool.take(1 << 20)].map((x) => x.buffer as ArrayBuffer); // 4 MiB each
    const first = long();
    first.forEach((x) => pool.give(x));
    pool.endPass();
    const again = long();
    expect(again.every((x) => first.includes(x))).toBe(true);
    again.forEach((x) => pool.give(x));
    pool.endPass();
    for (let i = 0; i < PASSES_REMEMBERED; i++) {
      // The long passes are still among the last PASSES_REMEMBERED: their class stays (one of its two buffers goes
      // when a small one comes back, since the free bytes may not pass the long pass's 8 MiB).
      expect(pool.bytes).toBeGreaterThanOrEqual(4 * 2 ** 20);
      pool.give(pool.take(1000).buffer as ArrayBuffer);
      pool.endPass();
    }
    expect(pool.bytes).toBe(4096);
  });
});
