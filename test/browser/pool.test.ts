// The browser entry's pool of Web Workers (`Specter2.load(url, { workers: N })`, src/web/specter2.ts): each worker
// holds its own single-threaded wasm backend and copy of the model, the batches of one embed are spread over them,
// and the vectors are the page's own, exactly; close() ends every worker. On the demo model (weights/specter2-tiny).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "puppeteer-core";
import type { Manifest } from "../../src/weights/modelDir";
import type { PageError, TestSite } from "../helpers/browser";
import { call, compareRows, describeInBrowser, launchChromium, ROOT, startTestSite } from "../helpers/browser";
import { EXAMPLE_PAPERS } from "../helpers/examplePapers";

const TINY = join(ROOT, "weights", "specter2-tiny");
const PAPERS = EXAMPLE_PAPERS;
const INPUTS = [...PAPERS, "citation graph embeddings", "protein structure"];
/** Batches of 3: INPUTS make several, more than the workers, so each worker gets some. */
const EMBED = { batchSize: 3 };
const TINY_BYTES = Object.values((JSON.parse(readFileSync(join(TINY, "manifest.json"), "utf8")) as Manifest).files).reduce((n, f) => n + f.bytes, 0);

interface Kept {
  backend: { name: string; choice: string };
  workers: number;
  runsOn: string;
  progress: { loaded: number; total: number } | null;
}

describeInBrowser("the browser entry's Web Worker pool in Chromium", () => {
  let site: TestSite;
  let browser: Browser;
  let page: Page;
  /** The tiny model's vectors of INPUTS computed on the page's own thread (wasm, tfjs' default threads). */
  let mainThread: number[][];

  /** Our pool's workers as Chromium lists them (the worker module's URL; tfjs' pthread workers are blobs). */
  const poolWorkers = () => page.workers().filter((w) => w.url().endsWith("/specter2.worker.js"));

  beforeAll(async () => {
    site = await startTestSite({ "/tiny/": TINY });
    browser = await launchChromium({ webgpu: false });
    ({ page } = await site.open(browser));
    await call<Kept>(page, "keep", `${site.url}/tiny/`, { backend: "wasm", cache: false });
    mainThread = (await call<{ vectors: number[][] }>(page, "embedKept", INPUTS, EMBED)).vectors;
    await call(page, "closeKept");
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await site?.close();
  });

  it("workers: 2 spreads the batches over two single-threaded wasm workers and gives the page's vectors exactly; close() ends them", async () => {
    const kept = await call<Kept>(page, "keep", `${site.url}/tiny/`, { backend: "wasm", cache: true, workers: 2 });
    expect(kept).toMatchObject({ workers: 2, runsOn: "wasm (single-threaded) (2 workers)", backend: { choice: "wasm", name: "wasm (single-threaded)" } });
    // The first worker fetched the model and reported the progress; the second read it from the Cache API.
    expect(kept.progress).toMatchObject({ loaded: TINY_BYTES, total: TINY_BYTES });
    expect(poolWorkers()).toHaveLength(2);

    const { vectors, jobs } = await call<{ vectors: number[][]; jobs: number[] }>(page, "embedKept", INPUTS, EMBED);
    expect(vectors).toEqual(mainThread);
    expect(jobs).toHaveLength(2);
    expect(jobs.every((n) => n > 0)).toBe(true);
    expect(jobs[0] + jobs[1]).toBe(Math.ceil(INPUTS.length / EMBED.batchSize));

    const { error } = await call<{ error: PageError | null }>(page, "closeKept");
    expect(error?.message).toBe("the worker pool is closed");
    // Chromium reports a worker's end asynchronously: wait for both to be gone.
    for (let waited = 0; poolWorkers().length > 0 && waited < 10_000; waited += 50) await new Promise((r) => setTimeout(r, 50));
    expect(poolWorkers()).toHaveLength(0);
  }, 60_000);

  it.each(["wasm", "webgl"])(
    'workers: "auto" on %s: one per core (navigator.hardwareConcurrency, at most 4) on wasm, one on a GPU backend',
    async (backend) => {
      const cores = (await page.evaluate("navigator.hardwareConcurrency")) as number;
      const kept = await call<Kept>(page, "keep", `${site.url}/tiny/`, { backend, cache: true, workers: "auto" });
      expect(kept).toMatchObject({ workers: backend === "wasm" ? Math.max(1, Math.min(cores, 4)) : 1, backend: { choice: backend } });
      const { vectors } = await call<{ vectors: number[][] }>(page, "embedKept", INPUTS, EMBED);
      // wasm: the page's kernels, so its vectors exactly; WebGL (SwiftShader, in the worker's OffscreenCanvas): within
      // the parity bound (DEFAULT_TOLERANCE; test/browser/parity.test.ts).
      if (backend === "wasm") expect(vectors).toEqual(mainThread);
      else expect(compareRows(vectors, mainThread).maxAbs).toBeLessThan(1e-4);
      await call(page, "closeKept");
    },
    60_000,
  );

  it("threads: 2 runs two tfjs threads (past tfjs' cap of half the cores) with the page's vectors, and leaves hardwareConcurrency as it was", async () => {
    // A page of its own: tfjs keeps the first wasm backend a page starts.
    const { page: fresh } = await site.open(browser);
    try {
      const cores = (await fresh.evaluate("navigator.hardwareConcurrency")) as number;
      const kept = await call<Kept>(fresh, "keep", `${site.url}/tiny/`, { backend: "wasm", cache: false, threads: 2 });
      expect(kept.backend).toMatchObject({ choice: "wasm", name: "wasm (multi-threaded: 2 threads)" });
      expect(await fresh.evaluate("navigator.hardwareConcurrency")).toBe(cores);
      const { vectors } = await call<{ vectors: number[][] }>(fresh, "embedKept", INPUTS, EMBED);
      // The same kernels, their work split over two threads: within the parity bound (DEFAULT_TOLERANCE); measured 0.
      expect(compareRows(vectors, mainThread).maxAbs).toBeLessThan(1e-4);
      await call(fresh, "closeKept");
    } finally {
      await fresh.close();
    }
  }, 60_000);

  it.each([
    [{ workers: -1 }, "workers", 'workers must be a non-negative integer or "auto", got -1'],
    [{ workers: 1.5 }, "workers", 'workers must be a non-negative integer or "auto", got 1.5'],
    [{ threads: 0 }, "threads", "threads must be a positive integer, got 0"],
  ])("%j: BAD_INPUT on its field, before any fetch", async (options, field, message) => {
    const from = site.requests.length;
    const r = await call<{ error?: PageError; after: number; before: number }>(page, "failedLoad", `${site.url}/tiny/`, { backend: "wasm", cache: false, ...options });
    expect(r.error).toMatchObject({ code: "BAD_INPUT", field, message });
    expect(site.requests.slice(from)).toEqual([]);
  });
});
