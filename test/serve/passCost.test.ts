// The learned cost of one more forward pass: least squares over the passes seen, checked on timings made up so
// the answer is known by hand.
import { PassCost } from "../../src/serve/batchPlan";

/** Seconds of a pass of `tokens` padded tokens on a machine paying `overhead` tokens' worth per pass, 1 ms a token. */
const timed = (tokens: number, overhead: number) => (overhead + tokens) / 1000;
const SIZES = [100, 800, 250, 512, 1024, 300, 64, 2048];
/** n passes cycling through SIZES. */
const sizes = (n: number) => Array.from({ length: n }, (_, i) => SIZES[i % SIZES.length]);

describe("PassCost", () => {
  it("keeps the prior until 16 passes are seen, then recovers the overhead of exact timings", () => {
    const cost = new PassCost(32);
    const all = sizes(16);
    all.slice(0, 15).forEach((t) => cost.observe(t, timed(t, 26)));
    expect(cost.overheadTokens).toBe(32);
    cost.observe(all[15], timed(all[15], 26));
    // Exact linear data: the fit is exact up to float rounding of seconds (~1e-16 relative).
    expect(cost.overheadTokens).toBeCloseTo(26, 6);
  });

  it("fills the budget where time does not grow with tokens, and never goes below zero", () => {
    const flat = new PassCost(32);
    for (const t of sizes(16)) flat.observe(t, 0.5);
    expect(flat.overheadTokens).toBe(Infinity);
    // Time proportional to tokens with a negative intercept (noise): no overhead, not a negative one.
    const steep = new PassCost(32);
    for (const t of sizes(16)) steep.observe(t, (t - 50) / 1000);
    expect(steep.overheadTokens).toBe(0);
  });

  it("keeps its estimate when the passes are all about one size, and follows a change within its window of 128", () => {
    const same = new PassCost(32);
    for (let i = 0; i < 40; i++) same.observe(512 + (i % 2), timed(512, 100 * (i % 3)));
    expect(same.overheadTokens).toBe(32);
    const cost = new PassCost(32);
    for (const t of sizes(128)) cost.observe(t, timed(t, 26));
    expect(cost.overheadTokens).toBeCloseTo(26, 6);
    // 127 passes of a backend paying 400 tokens a pass leave one old pass in the window: the fit is off.
    for (const t of sizes(127)) cost.observe(t, timed(t, 400));
    expect(Math.abs(cost.overheadTokens - 400)).toBeGreaterThan(1);
    // The 128th pushes the last one out.
    cost.observe(SIZES[127 % SIZES.length], timed(SIZES[127 % SIZES.length], 400));
    expect(cost.overheadTokens).toBeCloseTo(400, 6);
  });

  /** A pass of `adapters` adapters where each one beyond the first adds 10 % of its padded tokens' time. */
  const mixed = (t: number, adapters: number) => (26 + t * (1 + 0.1 * (adapters - 1))) / 1000;

  it("leaves fewer than 8 mixed passes out of the fit: their extra cost is not the pass overhead", () => {
    const cost = new PassCost(32);
    for (const t of sizes(7)) cost.observe(t, 1.3 * timed(t, 26), 3);
    for (const t of sizes(16)) cost.observe(t, timed(t, 26));
    expect(cost.overheadTokens).toBeCloseTo(26, 6);
    expect(cost.groupCost).toBe(0.03);
  });

  it("tells the overhead and the cost of each adapter beyond the first apart, even when most passes mix", () => {
    const cost = new PassCost(32);
    // 3 single-adapter passes in 16; the others mix 2 to 4 adapters.
    for (const [k, t] of sizes(16).entries()) {
      const adapters = k % 5 === 0 ? 1 : 2 + (k % 3);
      cost.observe(t, mixed(t, adapters), adapters);
    }
    // Exact data: the fit is exact up to float rounding.
    expect(cost.overheadTokens).toBeCloseTo(26, 5);
    expect(cost.groupCost).toBeCloseTo(0.1, 8);
    // Even with no single-adapter pass at all.
    const allMixed = new PassCost(32);
    for (const [k, t] of sizes(16).entries()) allMixed.observe(t, mixed(t, 2 + (k % 3)), 2 + (k % 3));
    expect(allMixed.overheadTokens).toBeCloseTo(26, 5);
    expect(allMixed.groupCost).toBeCloseTo(0.1, 8);
  });

  it("never changes when it is told not to learn", () => {
    const fixed = new PassCost(0, false);
    for (const t of sizes(16)) fixed.observe(t, timed(t, 26));
    for (const t of sizes(8)) fixed.observe(t, 2 * timed(t, 26), 3);
    expect(fixed.overheadTokens).toBe(0);
    expect(fixed.groupCost).toBe(0.03);
  });
});
