// The batching policy and queue alone, with a fake forward pass that records every batch it is given.
import { planBatch, PassCost } from "../../src/serve/batchPlan";
import type { BatchAdapters } from "../../src/engine/inputs";
import { BatchQueue } from "../../src/serve/queue";

/** A fake model: the "vector" of a row is [adapter code, first id, length], so routing is checkable; a batch's
 *  adapter is recorded as given (one for all rows, or one per row when the queue mixes them). */
function recordingRun(batches: { adapter: BatchAdapters; rows: number[][] }[]) {
  return async (rows: number[][], adapter: BatchAdapters) => {
    batches.push({ adapter, rows });
    const code = (a: string | null) => (a === null ? -1 : a.length);
    return rows.map((r, k) => Float32Array.from([code(Array.isArray(adapter) ? (adapter as (string | null)[])[k] : (adapter as string | null)), r[0], r.length]));
  };
}

const row = (id: number, length: number) => Array.from({ length }, (_, i) => (i === 0 ? id : 0));

describe("planBatch", () => {
  const lengths = [50, 10, 12, 48, 200, 49, 11, 51];

  it("fills the budget with the oldest row's nearest neighbours in padding when a pass costs nothing extra", () => {
    const picked = planBatch(lengths, 200);
    // From the 50-token oldest row: 49 and 48 add 1 padded token each (ties go to the shorter row, which pads
    // nothing else), then 12 adds 38 (51 would take 4 × 51 = 204 > 200); 11 would make 5 × 50 = 250.
    expect(picked).toEqual([2, 3, 5, 0]);
    expect(picked.length * Math.max(...picked.map((i) => lengths[i]))).toBeLessThanOrEqual(200);
  });

  it("adds a row only while the padding it brings is at most what another pass would cost", () => {
    // 12 would add 38 padded tokens, more than 26: it waits for a pass of its own.
    expect(planBatch(lengths, 200, { overheadTokens: 26 }).map((i) => lengths[i])).toEqual([48, 49, 50]);
    // A longer row pads every row already in: 110 after three of 100 adds 3 × 10 = 30.
    expect(planBatch([100, 100, 100, 110], 1000, { overheadTokens: 29 })).toEqual([0, 1, 2]);
    expect(planBatch([100, 100, 100, 110], 1000, { overheadTokens: 30 })).toEqual([0, 1, 2, 3]);
    expect(planBatch([50, 49], 1000, { overheadTokens: 0 })).toEqual([0]);
  });

  it("counts a new group (adapter) as a fraction of the batch's padded tokens, and prefers rows of groups already in", () => {
    // A third row of another adapter: 3 % of 3 × 100 = 9 tokens ≤ 26 joins; of 3 × 300 = 27 does not.
    expect(planBatch([100, 100, 100], 1000, { overheadTokens: 26, groups: ["a", "a", "b"], groupCost: 0.03 })).toEqual([0, 1, 2]);
    expect(planBatch([300, 300, 300], 1000, { overheadTokens: 26, groups: ["a", "a", "b"], groupCost: 0.03 })).toEqual([0, 1]);
    // Equal padding: the row of the oldest's adapter first (cost 0); then b would cost 9 > 5.
    expect(planBatch([100, 100, 100], 1000, { overheadTokens: 5, groups: ["a", "b", "a"], groupCost: 0.03 })).toEqual([0, 2]);
  });

  it("fills the budget with short rows when the oldest is short, and takes a row alone when it fills it", () => {
    expect(planBatch([4, 4, 4, 4, 4], 12, { overheadTokens: 0 })).toEqual([0, 1, 2]);
    expect(planBatch([300, 1, 1], 300)).toEqual([0]);
    expect(planBatch([], 100)).toEqual([]);
  });
});

describe("BatchQueue", () => {
  it("groups concurrent requests by adapter into shared batches and routes every vector to its request and position", async () => {
    const batches: { adapter: BatchAdapters; rows: number[][] }[] = [];
    const queue = new BatchQueue(recordingRun(batches), 1000);
    const a = queue.submit("proximity", [row(1, 5), row(2, 3)]);
    const b = queue.submit(null, [row(3, 4)]);
    const c = queue.submit("proximity", [row(4, 7)]);
    const [va, vb, vc] = await Promise.all([a, b, c]);
    expect(va.map((v) => Array.from(v))).toEqual([
      [9, 1, 5],
      [9, 2, 3],
    ]);
    expect(vb.map((v) => Array.from(v))).toEqual([[-1, 3, 4]]);
    expect(vc.map((v) => Array.from(v))).toEqual([[9, 4, 7]]);
    // Both proximity requests went into one batch (sorted by length), the base rows into another.
    expect(batches.map((x) => [x.adapter, x.rows.map((r) => r[0])])).toEqual([
      ["proximity", [2, 1, 4]],
      [null, [3]],
    ]);
    expect(queue.pendingRows).toBe(0);
  });

  it("splits a request over several batches under the token budget", async () => {
    const batches: { adapter: BatchAdapters; rows: number[][] }[] = [];
    const queue = new BatchQueue(recordingRun(batches), 10);
    const vectors = await queue.submit("x", [row(1, 4), row(2, 4), row(3, 4), row(4, 4), row(5, 4)]);
    expect(vectors.map((v) => v[1])).toEqual([1, 2, 3, 4, 5]);
    expect(batches.map((b) => b.rows.length)).toEqual([2, 2, 1]);
    for (const b of batches) expect(b.rows.length * Math.max(...b.rows.map((r) => r.length))).toBeLessThanOrEqual(10);
  });

  it("drops an aborted request's waiting rows, and rejects every request of a failed batch", async () => {
    const batches: { adapter: BatchAdapters; rows: number[][] }[] = [];
    const queue = new BatchQueue(recordingRun(batches), 4);
    const abort = new AbortController();
    const first = queue.submit("x", [row(1, 4)]);
    const aborted = queue.submit("x", [row(2, 4), row(3, 4)], abort.signal);
    abort.abort(new Error("gone"));
    await expect(aborted).rejects.toThrow("gone");
    await first;
    expect(batches.flatMap((b) => b.rows.map((r) => r[0]))).toEqual([1]);
    expect(queue.pendingRows).toBe(0);

    const failing = new BatchQueue(async () => Promise.reject(new Error("out of memory")), 100);
    await expect(failing.submit("x", [row(1, 3)])).rejects.toMatchObject({ statusCode: 500, message: expect.stringContaining("out of memory") });
  });

  it("runs up to maxParallel batches at once (one per worker), and the next as soon as one ends", async () => {
    let running = 0;
    let most = 0;
    const release: (() => void)[] = [];
    const run = async (rows: number[][]) => {
      most = Math.max(most, ++running);
      await new Promise<void>((r) => release.push(r));
      running--;
      return rows.map((r) => Float32Array.from([r[0]]));
    };
    const queue = new BatchQueue(run, 4, undefined, 2);
    // Budget 4: each 4-token row is a batch of its own.
    const answers = [1, 2, 3].map((id) => queue.submit("x", [row(id, 4)]));
    const turn = () => new Promise((r) => setImmediate(r));
    await turn();
    expect([running, queue.pendingRows]).toEqual([2, 1]);
    release.shift()!();
    await turn();
    await turn();
    expect([running, queue.pendingRows]).toEqual([2, 0]);
    release.splice(0).forEach((r) => r());
    expect((await Promise.all(answers)).map((v) => v[0][0])).toEqual([1, 2, 3]);
    expect(most).toBe(2);
    expect(() => new BatchQueue(run, 4, undefined, 0)).toThrow(/at least one batch/);
  });

  it("refuses a row longer than the budget instead of waiting forever", () => {
    const queue = new BatchQueue(recordingRun([]), 8);
    expect(() => queue.submit("x", [row(1, 9)])).toThrow(/exceeds the batch budget/);
  });
});

describe("BatchQueue mixing adapters", () => {
  it("forms batches by length and age alone, each row with its own adapter, and routes every vector back", async () => {
    const batches: { adapter: BatchAdapters; rows: number[][] }[] = [];
    const queue = new BatchQueue(recordingRun(batches), 1000, undefined, 1, true);
    const a = queue.submit("proximity", [row(1, 5), row(2, 3)]);
    const b = queue.submit(null, [row(3, 4)]);
    const c = queue.submit("adhoc_query", [row(4, 7)]);
    const [va, vb, vc] = await Promise.all([a, b, c]);
    expect(va.map((v) => Array.from(v))).toEqual([
      [9, 1, 5],
      [9, 2, 3],
    ]);
    expect(vb.map((v) => Array.from(v))).toEqual([[-1, 3, 4]]);
    expect(vc.map((v) => Array.from(v))).toEqual([[11, 4, 7]]);
    // One batch for all three requests (the grouped queue above needed one per adapter), sorted by length.
    expect(batches.map((x) => [x.adapter, x.rows.map((r) => r[0])])).toEqual([
      [
        ["proximity", null, "proximity", "adhoc_query"],
        [2, 3, 1, 4],
      ],
    ]);
  });

  it("with a pass cost, lets a row join only while the padding and the adapter it adds cost less than a pass of its own", async () => {
    const batches: { adapter: BatchAdapters; rows: number[][] }[] = [];
    // A pass costs 2 tokens' worth: 11 (the base) may join 10 (1 padded token + 3 % of 2 × 11 for a second adapter:
    // 1.66), 40 may not (2 rows × 29); 41 may not join 40 (1 + 3 % of 2 × 41 = 3.46).
    const queue = new BatchQueue(recordingRun(batches), 1000, undefined, 1, true, new PassCost(2, false));
    await Promise.all([queue.submit("proximity", [row(1, 10), row(2, 40)]), queue.submit(null, [row(3, 11)]), queue.submit("adhoc_query", [row(4, 41)])]);
    expect(batches.map((x) => [x.adapter, x.rows.map((r) => r[0])])).toEqual([
      [
        ["proximity", null],
        [1, 3],
      ],
      ["proximity", [2]],
      ["adhoc_query", [4]],
    ]);
  });

  it("passes one adapter, not a list, for a batch whose rows share it", async () => {
    const batches: { adapter: BatchAdapters; rows: number[][] }[] = [];
    const queue = new BatchQueue(recordingRun(batches), 1000, undefined, 1, true);
    await Promise.all([queue.submit("proximity", [row(1, 5)]), queue.submit("proximity", [row(2, 3)])]);
    expect(batches.map((x) => x.adapter)).toEqual(["proximity"]);
  });
});
