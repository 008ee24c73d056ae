// Many concurrent requests against one server: thousands leave no tensor behind and memory flat (run
// first, before the burst below inflates the allocators), and each gets its own adapter's vectors in order.
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import * as tf from "@tensorflow/tfjs-core";
import { Specter2 } from "../../src/node/specter2";
import type { Running } from "../helpers/serve";
import { maxAbsDiff, post, startService } from "../helpers/serve";

const MODEL = join(__dirname, "..", "..", "weights", "specter2-tiny");
const NAMES = ["base", "proximity", "adhoc_query", "classification", "regression"];
/** Texts of very different lengths, so batches mix short and long rows. */
const TEXTS = Array.from({ length: 12 }, (_, i) => `paper ${i} on citation graphs and adapters ` + "with transformers ".repeat(3 * i));

/** Same inputs in other batches (other padding, other row counts) change float summation order by a few ulps. */
const BATCHING_TOLERANCE = 1e-5;

let model: Specter2;
let server: Running;
/** expected[name][t]: the library's vector of TEXTS[t] with that adapter. */
const expected: Record<string, Float32Array[]> = {};

beforeAll(async () => {
  model = await Specter2.load(MODEL, { workers: 0, backend: "wasm" });
  // A small budget forces requests to be split across batches and shared with others.
  server = await startService(model, { maxBatchTokens: 1024 });
  for (const name of NAMES) expected[name] = await model.embed(TEXTS, { adapter: name === "base" ? null : name });
});
afterAll(async () => {
  await server?.service.close();
  await model?.close();
});

/** A deterministic mix (seeded LCG): adapter, API and 1–6 texts per request. */
function requests(n: number, seed = 11) {
  let s = seed;
  const rand = (k: number) => ((s = (s * 1103515245 + 12345) % 2 ** 31), s % k);
  return Array.from({ length: n }, () => ({
    name: NAMES[rand(NAMES.length)],
    openAi: rand(2) === 0,
    texts: Array.from({ length: 1 + rand(6) }, () => rand(TEXTS.length)),
  }));
}

async function send(r: ReturnType<typeof requests>[number]): Promise<number[][]> {
  const input = r.texts.map((t) => TEXTS[t]);
  if (r.openAi) {
    const res = await post(`${server.url}/v1/embeddings`, { model: r.name, input });
    expect(res.status).toBe(200);
    return res.body.data.map((d: { embedding: number[] }) => d.embedding);
  }
  const res = await post(`${server.url}/embed`, { inputs: input, adapter: r.name });
  expect(res.status).toBe(200);
  return res.body;
}

it("adapters differ by far more than the batching tolerance, so a misrouted vector cannot pass", () => {
  for (const a of NAMES) for (const b of NAMES) if (a !== b) expect(maxAbsDiff(expected[a][0], expected[b][0])).toBeGreaterThan(1000 * BATCHING_TOLERANCE);
  for (let t = 1; t < TEXTS.length; t++) expect(maxAbsDiff(expected.proximity[0], expected.proximity[t])).toBeGreaterThan(1000 * BATCHING_TOLERANCE);
});

it("a few thousand requests leave no tensor behind and memory flat", async () => {
  const run = async (n: number) => {
    // 32 clients, each sending its share one request after another.
    await Promise.all(
      Array.from({ length: 32 }, async (_, c) => {
        for (let i = c; i < n; i += 32) {
          const r = await post(`${server.url}/v1/embeddings`, { model: NAMES[i % NAMES.length], input: [TEXTS[i % 3], TEXTS[(i + 1) % 3]] });
          expect(r.status).toBe(200);
        }
      }),
    );
  };
  // Collect garbage before each reading, so what is measured is what is still referenced.
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  // The wasm heap only ever grows, to the largest batch so far (the queue forms batches of varying size
  // under load): that high-water mark is not a leak (numBytes above proves no tensor is kept), so it is
  // taken out of RSS.
  const wasmHeap = () => (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.byteLength;
  const usage = () => {
    gc();
    const m = process.memoryUsage();
    return { ...m, rss: m.rss - wasmHeap() };
  };
  await run(500); // warm: allocator pools, JIT, sockets, the wasm heap's high-water mark
  const tensors = tf.memory();
  const before = usage();
  await run(2000);
  const after = usage();
  expect([tf.memory().numTensors, tf.memory().numBytes]).toEqual([tensors.numTensors, tensors.numBytes]);
  const mib = (k: keyof NodeJS.MemoryUsage) => ((after[k] - before[k]) / 2 ** 20).toFixed(1);
  // Keeping any request's objects (its body, reply, closures: several kB) would grow the heap by > 5 MB;
  // we measure ~0.5 kB per request of drift, this in-process client included.
  expect(Number(mib("heapUsed"))).toBeLessThan(2);
  // RSS (less the wasm heap) moves by tens of MB from run to run (allocator arenas, V8 pages kept after
  // GC), so its bound is coarse: it catches a leak of a socket buffer or a batch per request (≥ 64 kB × 2000 = 128 MB).
  expect(Number(mib("rss"))).toBeLessThan(128);
});

it("300 concurrent requests with mixed adapters and sizes each get their own adapter's vectors, in order", async () => {
  const mix = requests(300);
  const rows = mix.reduce((n, r) => n + r.texts.length, 0);
  // Hold the first forward pass until every request waits in the queue: the client shares this
  // process's event loop, so without the hold requests would trickle in one per batch.
  const original = model.embedBatch.bind(model);
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let firstBatch = -1;
  jest.spyOn(model, "embedBatch").mockImplementation(async (ids, ...rest) => {
    if (firstBatch < 0) {
      firstBatch = ids.length;
      await gate;
    }
    return original(ids, ...rest);
  });
  try {
    const answers = Promise.all(mix.map(send));
    for (let t = 0; t < 1000 && (firstBatch < 0 || (await metric("specter2_queue_depth")) !== rows - firstBatch); t++) await sleep(20);
    release();
    const results = await answers;
    mix.forEach((r, i) => {
      expect(results[i]).toHaveLength(r.texts.length);
      r.texts.forEach((t, k) => expect(maxAbsDiff(results[i][k], expected[r.name][t])).toBeLessThanOrEqual(BATCHING_TOLERANCE));
    });
  } finally {
    jest.restoreAllMocks();
  }
  // Requests shared batches: some batch had more rows than any one request (6) holds.
  expect(await metric('specter2_batch_size_bucket{le="8"}')).toBeLessThan(await metric("specter2_batch_size_count"));
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A metric's value as /metrics reports it now. */
async function metric(name: string): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  if (!line) throw new Error(`no metric ${name}`);
  return Number(line.slice(name.length + 1));
}
