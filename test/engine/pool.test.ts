// The worker-thread pool: the same vectors as the single-thread library, in input order; a worker that dies
// mid-batch is replaced and its batch retried; load failures and close() leave nothing running.
import { cpSync, mkdtempSync, rmSync, truncateSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Specter2 } from "../../src/node/specter2";
import { crashingWorker } from "../helpers/crashingWorker";

const DIR = join(__dirname, "..", "..", "weights", "specter2-tiny");
/** Batch composition changes float summation order, by a few ulps at most. */
const TOLERANCE = 1e-5;

const inputs = Array.from({ length: 23 }, (_, i) =>
  i % 5 === 4 ? `query ${i} about proteins` : { title: `Paper ${i} on graph neural networks`, abstract: "We study citation data and embeddings. ".repeat(i % 7) },
);

function maxAbsDiff(a: Float32Array[], b: Float32Array[]): number {
  expect(a.map((v) => v.length)).toEqual(b.map((v) => v.length));
  return Math.max(...a.map((v, r) => Math.max(...v.map((x, k) => Math.abs(x - b[r][k])))));
}

let single: Specter2;
let expected: Float32Array[];
let tmp: string;

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), "specter2-pool-"));
  single = await Specter2.load(DIR, { workers: 0, backend: "wasm" });
  expected = await single.embed(inputs, { adapter: "proximity", batchSize: 4 });
});
afterAll(async () => {
  await single?.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe("Specter2 on worker threads", () => {
  let pool: Specter2;
  beforeAll(async () => {
    pool = await Specter2.load(DIR, { backend: "wasm", workers: 2 });
  });
  afterAll(() => pool?.close());

  it("gives the single-thread library's vectors, in input order, whatever the batch size", async () => {
    for (const batchSize of [1, 4, 64]) {
      expect(maxAbsDiff(await pool.embed(inputs, { adapter: "proximity", batchSize }), expected)).toBeLessThan(TOLERANCE);
    }
    const base = await single.embed(inputs, { adapter: null, pooling: "mean" });
    expect(maxAbsDiff(await pool.embed(inputs, { adapter: null, pooling: "mean", batchSize: 3 }), base)).toBeLessThan(TOLERANCE);
  });

  it("keeps concurrent calls apart", async () => {
    const [a, b] = await Promise.all([pool.embed(inputs, { adapter: "proximity", batchSize: 2 }), pool.embed(inputs.slice(0, 5), { adapter: "proximity", batchSize: 2 })]);
    expect(maxAbsDiff(a, expected)).toBeLessThan(TOLERANCE);
    expect(maxAbsDiff(b, expected.slice(0, 5))).toBeLessThan(TOLERANCE);
  });

  it("rejects a call with an unknown adapter and stays usable", async () => {
    await expect(pool.embed(inputs, { adapter: "nope" })).rejects.toThrow(/unknown adapter "nope"/);
    expect(maxAbsDiff(await pool.embed(inputs, { adapter: "proximity", batchSize: 4 }), expected)).toBeLessThan(TOLERANCE);
  });
});

it("replaces a worker that dies mid-batch and retries its batch", async () => {
  const pool = await Specter2.load(DIR, { backend: "wasm", workers: 2, workerScript: crashingWorker(tmp, "once") });
  try {
    expect(maxAbsDiff(await pool.embed(inputs, { adapter: "proximity", batchSize: 4 }), expected)).toBeLessThan(TOLERANCE);
  } finally {
    await pool.close();
  }
});

it("gives up on a batch that kills every worker it meets", async () => {
  const pool = await Specter2.load(DIR, { backend: "wasm", workers: 1, maxRetries: 1, workerScript: crashingWorker(tmp, "always") });
  try {
    await expect(pool.embed(inputs.slice(0, 2))).rejects.toThrow(/exited with code 7 on this batch 2 times/);
  } finally {
    await pool.close();
  }
});

it("refuses an adapter the directory lacks before any worker starts", async () => {
  await expect(Specter2.load(DIR, { backend: "wasm", workers: 2, adapters: ["nope"] })).rejects.toMatchObject({ code: "UNKNOWN_ADAPTER", adapter: "nope" });
});

it("fails to load, with the worker's error code, when a worker cannot load the model", async () => {
  // A weights file cut short: the main thread reads only the manifest and configs, the worker finds it out.
  const broken = join(tmp, "truncated");
  cpSync(DIR, broken, { recursive: true });
  truncateSync(join(broken, "model.safetensors"), 100);
  await expect(Specter2.load(broken, { backend: "wasm", workers: 2 })).rejects.toMatchObject({
    code: "BAD_CHECKPOINT",
    message: expect.stringMatching(/^a pool worker could not load the model: .*model\.safetensors/),
  });
});

it("finishes the batches under way on close, then refuses new work", async () => {
  const pool = await Specter2.load(DIR, { backend: "wasm", workers: 1 });
  const running = pool.embed(inputs, { adapter: "proximity", batchSize: 4 });
  const closed = pool.close();
  // The first batch is already with the worker; the rest were still queued.
  await expect(running).rejects.toThrow(/closed/);
  await closed;
  await expect(pool.embed(inputs)).rejects.toThrow(/closed/);
});
