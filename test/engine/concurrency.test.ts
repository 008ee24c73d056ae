// Many concurrent embed calls on one loaded model, and on the worker pool, with every adapter (and none) and
// several batch sizes, give exactly what the same calls give one after another: batches of different calls
// interleave, results never mix; on the pool, a worker that dies mid-run costs nothing but a retry.
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { soakTexts } from "../../benchmarks/soak";
import type { BatchAdapters } from "../../src/engine/inputs";
import { Specter2 } from "../../src/node/specter2";
import { crashingWorker } from "../helpers/crashingWorker";

const ADAPTERS = ["proximity", "adhoc_query", "classification", "regression", null] as const;
const BATCH_SIZES = [2, 3, 8];
const CALLS = 30;

const DIR = join(__dirname, "..", "..", "weights", "specter2-tiny");

let model: Specter2;
beforeAll(async () => {
  model = await Specter2.load(DIR, { workers: 0, backend: "wasm" });
});
afterAll(() => model?.close());

test(`${CALLS} concurrent calls with mixed adapters and batch sizes equal the sequential results bit for bit`, async () => {
  const papers = soakTexts(12, 30, 5).map((text, i) => (i % 3 === 0 ? text : { title: text, abstract: i % 3 === 1 ? text.repeat(2) : null }));
  const configs = Array.from({ length: CALLS }, (_, i) => ({ adapter: ADAPTERS[i % ADAPTERS.length], batchSize: BATCH_SIZES[(i * 7) % BATCH_SIZES.length] }));
  // The same call made alone gives the same batches in the same order, so exact equality is the right test.
  const sequential = new Map<string, Float32Array[]>();
  for (const c of configs) {
    const key = `${c.adapter}/${c.batchSize}`;
    if (!sequential.has(key)) sequential.set(key, await model.embed(papers, c));
  }

  const local = model.local!;
  const batchAdapters: BatchAdapters[] = [];
  const embedIds = local.embedIds.bind(local);
  local.embedIds = (ids, adapter, pooling) => {
    batchAdapters.push(adapter);
    return embedIds(ids, adapter, pooling);
  };
  let concurrent: Float32Array[][];
  try {
    // use() flips the default adapter while the calls run: calls that name their adapter must not notice.
    const flipping = Promise.resolve().then(async () => {
      for (let i = 0; i < 30; i++) {
        model.use(ADAPTERS[i % ADAPTERS.length]);
        await new Promise((resolve) => setImmediate(resolve));
      }
    });
    [concurrent] = await Promise.all([Promise.all(configs.map((c) => model.embed(papers, c))), flipping]);
  } finally {
    local.embedIds = embedIds;
    model.use(null);
  }

  configs.forEach((c, i) => {
    const expected = sequential.get(`${c.adapter}/${c.batchSize}`)!;
    concurrent[i].forEach((v, k) => expect(Array.from(v)).toEqual(Array.from(expected[k])));
  });
  // Proof that calls really interleaved: run one after another, the adapter would change at most once per call.
  let changes = 0;
  for (let b = 1; b < batchAdapters.length; b++) if (batchAdapters[b] !== batchAdapters[b - 1]) changes++;
  expect(changes).toBeGreaterThan(2 * CALLS);
});

describe("on the worker pool", () => {
  let tmp: string;
  beforeAll(() => (tmp = mkdtempSync(join(tmpdir(), "specter2-concurrency-"))));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  test(`${CALLS} concurrent calls with mixed adapters and batch sizes, with a worker crashing mid-run, equal the sequential results bit for bit, every paper once`, async () => {
    const papers = soakTexts(12, 30, 5).map((text, i) => (i % 3 === 0 ? text : { title: text, abstract: i % 3 === 1 ? text.repeat(2) : null }));
    const configs = Array.from({ length: CALLS }, (_, i) => ({ adapter: ADAPTERS[i % ADAPTERS.length], batchSize: BATCH_SIZES[(i * 7) % BATCH_SIZES.length] }));
    // Sequential: the same calls one after another on a pool without crashes. The pool forms its batches
    // (longest first) the same way for the same call, and a batch computes the same numbers on any wasm
    // worker, so exact equality is the right test.
    const sequential = new Map<string, Float32Array[]>();
    const calm = await Specter2.load(DIR, { workers: 2, backend: "wasm" });
    try {
      for (const c of configs) {
        const key = `${c.adapter}/${c.batchSize}`;
        if (!sequential.has(key)) sequential.set(key, await calm.embed(papers, c));
      }
    } finally {
      await calm.close();
    }
    const pool = await Specter2.load(DIR, { workers: 2, backend: "wasm", workerScript: crashingWorker(tmp, "once") });
    let concurrent: Float32Array[][];
    try {
      concurrent = await Promise.all(configs.map((c) => pool.embed(papers, c)));
    } finally {
      await pool.close();
    }
    // One worker did die on its first batch (the marker file is the crash's own record).
    expect(existsSync(join(tmp, "crashed"))).toBe(true);
    configs.forEach((c, i) => {
      const expected = sequential.get(`${c.adapter}/${c.batchSize}`)!;
      // Every paper once, in input order: as many vectors as papers, each equal to its own.
      expect(concurrent[i]).toHaveLength(papers.length);
      concurrent[i].forEach((v, k) => expect(Array.from(v)).toEqual(Array.from(expected[k])));
    });
  });
});
