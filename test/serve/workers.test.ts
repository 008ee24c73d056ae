// `serve` with its forward passes in worker threads: while a slow batch computes, /health and /metrics
// answer at once; the same batch on the main thread (--workers 0) holds them until it is done, which
// shows the measurement can fail. Also: the pooled model serves the library's vectors and describes
// what its workers run, and how many workers `serve` starts by default.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { defaultWorkers, usableCores } from "../../src/backend/candidates";
import { Specter2 } from "../../src/node/specter2";
import type { Running } from "../helpers/serve";
import { get, post, startService } from "../helpers/serve";

const MODEL = join(__dirname, "..", "..", "weights", "specter2-tiny");
const ADAPTERS = ["proximity", "adhoc_query", "classification", "regression"];
/** How long a "slow" batch computes, on whichever thread runs it. */
const SLOW_MS = 1500;
/** A batch with a row longer than this is slow; warm-up rows (a few tokens) are not. */
const SLOW_ROW_TOKENS = 100;
const LONG_TEXT = "adapters transformers citation graphs ".repeat(60);

/** Holds the thread it runs on, as a long synchronous tfjs forward pass does. */
const BLOCK = `(ids) => { if (ids.some((r) => r.length > ${SLOW_ROW_TOKENS})) { const end = Date.now() + ${SLOW_MS}; while (Date.now() < end); } }`;

/** The real pool worker, except that a slow batch first holds the worker thread for SLOW_MS. */
function slowWorker(dir: string): string {
  const script = join(dir, "slow-worker.js");
  writeFileSync(
    script,
    `const block = ${BLOCK};
// Registered before the real worker's listener (added once its model has loaded), so it runs first.
require("node:worker_threads").parentPort.on("message", ({ job }) => block(job.ids));
require(${JSON.stringify(require.resolve("ts-node"))}).register({ transpileOnly: true, swc: true });
require(${JSON.stringify(join(__dirname, "..", "..", "src", "pool", "worker.ts"))});
`,
  );
  return script;
}

interface Timings {
  health: number;
  healthMs: number;
  metrics: number;
  metricsMs: number;
  embed: number;
  /** ms from sending the slow request until its answer, and until /metrics answered. */
  embedDoneAt: number;
  probesDoneAt: number;
}

/** A client in another process, so that its clock runs while the server's main thread may be held:
 *  it sends a slow batch, waits until it is computing, then times GET /health and GET /metrics. */
async function probeDuringSlowBatch(url: string): Promise<Timings> {
  const client = `
const url = ${JSON.stringify(url)};
const t0 = performance.now();
const timed = async (path) => { const t = performance.now(); const r = await fetch(url + path); await r.text(); return [r.status, performance.now() - t]; };
(async () => {
  const slow = fetch(url + "/embed", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ inputs: [${JSON.stringify(LONG_TEXT)}], adapter: "proximity" }) })
    .then(async (r) => (await r.text(), [r.status, performance.now() - t0]));
  await new Promise((r) => setTimeout(r, 300)); // the batch is computing by then (it computes for ${SLOW_MS} ms)
  const [health, healthMs] = await timed("/health");
  const [metrics, metricsMs] = await timed("/metrics");
  const probesDoneAt = performance.now() - t0;
  const [embed, embedDoneAt] = await slow;
  console.log(JSON.stringify({ health, healthMs, metrics, metricsMs, embed, embedDoneAt, probesDoneAt }));
})();`;
  const { stdout } = await promisify(execFile)(process.execPath, ["-e", client]);
  return JSON.parse(stdout) as Timings;
}

let tmp: string;
let model: Specter2;
beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), "specter2-serve-workers-"));
  model = await Specter2.load(MODEL, { workers: 0, backend: "wasm" });
});
afterAll(async () => {
  await model?.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe("with the model in a worker thread", () => {
  let pooled: Specter2;
  let server: Running;
  beforeAll(async () => {
    pooled = await Specter2.load(MODEL, { workers: 1, backend: "wasm", workerScript: slowWorker(tmp) });
    server = await startService(pooled);
  });
  afterAll(async () => {
    await server?.service.close();
    await pooled?.close();
  });

  it("/health and /metrics answer within 200 ms while a slow batch computes", async () => {
    const t = await probeDuringSlowBatch(server.url);
    expect([t.health, t.metrics, t.embed]).toEqual([200, 200, 200]);
    // They were answered while the batch was still computing, and without waiting for it.
    expect(t.probesDoneAt).toBeLessThan(t.embedDoneAt);
    expect(t.embedDoneAt).toBeGreaterThanOrEqual(SLOW_MS);
    expect(t.healthMs).toBeLessThan(200);
    expect(t.metricsMs).toBeLessThan(200);
  });

  it("serves the library's vectors and describes what its workers loaded", async () => {
    const r = await post(`${server.url}/v1/embeddings`, { model: "classification", input: ["citation recommendation", "protein folding"] });
    expect(r.status).toBe(200);
    const expected = await model.embed(["citation recommendation", "protein folding"], { adapter: "classification", batchSize: 2 });
    // The same batch on the same backend, in another thread: the same numbers.
    r.body.data.forEach((d: { embedding: number[] }, i: number) => expect(Float32Array.from(d.embedding)).toEqual(expected[i]));
    expect((await get(`${server.url}/info`)).body).toMatchObject({ model: MODEL, adapters: ADAPTERS, hidden_size: 64, workers: 1, backend: { name: "wasm", choice: "wasm" } });
    expect((await get(`${server.url}/v1/models`)).body.data.map((m: { id: string }) => m.id)).toEqual(["base", ...ADAPTERS]);
  });
});

it("on the main thread (--workers 0) the same probes wait for the batch: the measurement can fail", async () => {
  const block = eval(BLOCK) as (ids: readonly number[][]) => void;
  const original = model.embedBatch.bind(model);
  jest.spyOn(model, "embedBatch").mockImplementation(async (ids, ...rest) => {
    block(ids);
    return original(ids, ...rest);
  });
  const server = await startService(model);
  try {
    const t = await probeDuringSlowBatch(server.url);
    expect([t.health, t.metrics, t.embed]).toEqual([200, 200, 200]);
    // Sent 300 ms into a 1500 ms batch, /health is answered only once the batch is done.
    expect(t.healthMs).toBeGreaterThan(500);
  } finally {
    jest.restoreAllMocks();
    await server.service.close();
  }
});

describe("defaultWorkers", () => {
  it("is one worker where the backend uses every core itself, else one per usable core", () => {
    expect(defaultWorkers("native", 8)).toBe(1);
    expect(defaultWorkers("node", 8)).toBe(1);
    expect(defaultWorkers("node-gpu", 8)).toBe(1);
    expect(defaultWorkers("wasm", 8)).toBe(8);
    expect(defaultWorkers("cpu", 3)).toBe(3);
    // Nothing installed (auto resolves to none before loading): as for wasm.
    expect(defaultWorkers(null, 4)).toBe(4);
  });

  it("in a Slurm task, counts the CPUs the task was given (never more than there are)", () => {
    const cores = availableParallelism();
    expect(usableCores(cores, { SLURM_CPUS_PER_TASK: "1" })).toBe(1);
    expect(usableCores(cores, { SLURM_CPUS_PER_TASK: "999" })).toBe(cores);
    expect(usableCores(cores, { SLURM_CPUS_PER_TASK: "x" })).toBe(cores);
    expect(usableCores(cores, {})).toBe(cores);
  });
});
