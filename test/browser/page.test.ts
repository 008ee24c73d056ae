// The browser entry in a real page (Chromium, test/helpers/browser.ts): our tokenizer gives Node's ids, embedding
// frees what it makes and close() frees the model, failed loads say what failed (in fields) and leave nothing
// allocated, the Cache API spares a second download until the manifest changes, and the Web Worker mode gives the
// main thread's vectors exactly. On the demo model (weights/specter2-tiny) and wasm unless said otherwise.
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "puppeteer-core";
import type { Manifest } from "../../src/weights/modelDir";
import { tokenizerCorpus } from "../fixtures/tokenizer/corpus";
import { ourTokenizer, SMALL_VOCAB } from "../fixtures/tokenizer/tokenizers";
import type { PageError, TestSite } from "../helpers/browser";
import { call, compareRows, describeInBrowser, launchChromium, ROOT, startTestSite } from "../helpers/browser";
import { SCIVOCAB } from "../helpers/hfTokenizer";
import { EXAMPLE_PAPERS } from "../helpers/examplePapers";

const TINY = join(ROOT, "weights", "specter2-tiny");
const PAPERS = EXAMPLE_PAPERS;
const INPUTS = [...PAPERS, "citation graph embeddings", "protein structure"];

interface Tensors {
  before: number;
  loaded: number;
  afterEach: number[];
  closed: number;
}
interface Embedded {
  backend: { name: string; choice: string; reason: string };
  workers: number;
  vectors: number[][];
  tensors: Tensors;
  /** The load's last onProgress report, and how many there were. */
  progress: { file: string; loaded: number; total: number } | null;
  reports: number;
}
interface FailedLoad {
  loaded: boolean;
  error?: PageError;
  before: number;
  peak: number;
  after: number;
}

/** A copy of the tiny model in a temporary folder, changed by `edit` (which gets the folder). */
function tinyCopy(edit: (dir: string) => void = () => {}): string {
  const dir = join(mkdtempSync(join(tmpdir(), "specter2-browser-model-")), "model");
  cpSync(TINY, dir, { recursive: true });
  edit(dir);
  return dir;
}

/** Adds `delta` to the last float32 of a safetensors file (a weight of its last tensor): same size, other bytes. */
function perturbLastWeight(file: string, delta: number): void {
  const bytes = readFileSync(file);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  view.setFloat32(bytes.byteLength - 4, view.getFloat32(bytes.byteLength - 4, true) + delta, true);
  writeFileSync(file, bytes);
}

/** Rewrites the manifest's digest and size of `path` to match the file as it now is. */
function refreshManifest(dir: string, path: string): void {
  const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as Manifest;
  const bytes = readFileSync(join(dir, path));
  manifest.files[path] = { sha256: createHash("sha256").update(bytes).digest("hex"), bytes: bytes.byteLength };
  writeFileSync(join(dir, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
}

describeInBrowser("the browser entry in Chromium", () => {
  let site: TestSite;
  let browser: Browser;
  let page: Page;
  /** The tiny model's vectors of INPUTS on wasm on the main thread, with its default adapter (proximity). */
  let mainThread: Embedded;
  // The last adapter loaded (the manifest's order) has one weight changed, the manifest not: the base and three
  // adapters are on the backend when its digest fails.
  const tampered = tinyCopy((dir) => perturbLastWeight(join(dir, "adapters", "regression.safetensors"), 0.5));
  const truncated = tinyCopy((dir) => writeFileSync(join(dir, "model.safetensors"), readFileSync(join(dir, "model.safetensors")).subarray(0, 1000)));
  const cached = tinyCopy();

  beforeAll(async () => {
    site = await startTestSite({ "/tiny/": TINY, "/tampered/": tampered, "/truncated/": truncated, "/cached/": cached, "/tokvocab/": join(SMALL_VOCAB, "..") });
    browser = await launchChromium();
    ({ page } = await site.open(browser));
    mainThread = await call<Embedded>(page, "embedRepeatedly", `${site.url}/tiny/`, { backend: "wasm", cache: false }, INPUTS, {}, 1);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await site?.close();
  });

  /** Bytes of every file of the tiny model (all adapters loaded), as its manifest lists them. */
  const TINY_BYTES = Object.values((JSON.parse(readFileSync(join(TINY, "manifest.json"), "utf8")) as Manifest).files).reduce((n, f) => n + f.bytes, 0);

  it("is cross-origin isolated, so wasm loads its threaded build, and its name says how many threads run", async () => {
    expect(await call<boolean>(page, "crossOriginIsolated")).toBe(true);
    const cores = (await page.evaluate("navigator.hardwareConcurrency")) as number;
    // tfjs-backend-wasm runs at most half of navigator.hardwareConcurrency threads (one on 2 cores).
    const threads = Math.min(8, Math.max(1, Math.floor(cores / 2)));
    expect(mainThread.backend).toMatchObject({
      choice: "wasm",
      name: threads > 1 ? `wasm (multi-threaded: ${threads} threads)` : `wasm (multi-threaded build on 1 thread: tfjs runs at most half of navigator.hardwareConcurrency, ${cores})`,
    });
  });

  it("onProgress counts up to every byte the load reads", () => {
    expect(mainThread.reports).toBeGreaterThan(5);
    expect(mainThread.progress).toMatchObject({ loaded: TINY_BYTES, total: TINY_BYTES });
  });

  it.each([
    ["scivocab", "/vocab/scivocab_uncased/vocab.txt", SCIVOCAB],
    ["small", "/tokvocab/vocab.txt", SMALL_VOCAB],
  ])("our tokenizer in the page gives Node's ids on the tokenizer corpus (%s vocabulary, maxLength 512 and 16)", async (_name, url, vocabPath) => {
    const corpus = tokenizerCorpus();
    const node = ourTokenizer(vocabPath);
    for (const maxLength of [512, 16]) {
      const { ids } = await call<{ ids: number[][] }>(page, "tokenize", `${site.url}${url}`, corpus, maxLength);
      const expected = corpus.map((t) => node.encode(t, { maxLength }).ids);
      const differ = corpus.map((_, i) => i).filter((i) => ids[i].join() !== expected[i].join());
      expect(differ.map((i) => ({ text: corpus[i].slice(0, 80), page: ids[i].slice(0, 20), node: expected[i].slice(0, 20) }))).toEqual([]);
      expect(ids).toHaveLength(corpus.length);
    }
  });

  it.each(["wasm", "webgl"])("repeated embeds leave the tensor count where it was; close() frees the model (%s)", async (backend) => {
    const out = await call<Embedded>(page, "embedRepeatedly", `${site.url}/tiny/`, { backend, cache: false }, INPUTS, { batchSize: 4 }, 3);
    expect(out.backend.choice).toBe(backend);
    expect(out.tensors.loaded).toBeGreaterThan(out.tensors.before);
    expect(out.tensors.afterEach).toEqual([out.tensors.loaded, out.tensors.loaded, out.tensors.loaded]);
    expect(out.tensors.closed).toBe(out.tensors.before);
  });

  describe("a failed load says what failed and leaves nothing allocated", () => {
    async function failed(path: string, options: Record<string, unknown>): Promise<FailedLoad> {
      const r = await call<FailedLoad>(page, "failedLoad", `${site.url}${path}`, { backend: "wasm", cache: false, ...options });
      expect(r.after).toBe(r.before);
      return r;
    }

    it("a model URL that is not there: MODEL_NOT_FOUND naming the URL", async () => {
      const r = await failed("/nowhere/", {});
      expect(r.error).toMatchObject({ name: "Specter2Error", code: "MODEL_NOT_FOUND", url: `${site.url}/nowhere/manifest.json` });
      expect(r.error!.message).toContain(`${site.url}/nowhere/manifest.json: 404`);
    });

    it("a file that does not match the manifest: BAD_CHECKPOINT naming the file, after the base and three adapters were loaded", async () => {
      const r = await failed("/tampered/", {});
      const file = `${site.url}/tampered/adapters/regression.safetensors`;
      expect(r.error).toMatchObject({ code: "BAD_CHECKPOINT", file });
      expect(r.error!.message).toMatch(new RegExp(`^${file.replace(/[.?]/g, "\\$&")}: sha256 [0-9a-f]{64}, the manifest says [0-9a-f]{64}$`));
      // The base and the first adapters were on the backend when the file arrived: they were freed.
      expect(r.peak).toBeGreaterThan(r.before);
    });

    it("verify: false skips the digests (the tampered copy loads) but never the sizes (a truncated file is refused)", async () => {
      expect((await failed("/tampered/", { verify: false })).loaded).toBe(true);
      const r = await failed("/truncated/", { verify: false });
      expect(r.error).toMatchObject({ code: "BAD_CHECKPOINT", file: `${site.url}/truncated/model.safetensors` });
      expect(r.error!.message).toContain("1000 bytes, the manifest says");
    });

    it.each([false, true])("an unknown backend: BAD_INPUT on the backend field, listing the backends, before any fetch (worker: %s)", async (worker) => {
      const from = site.requests.length;
      const r = await failed("/tiny/", { backend: "tpu", worker });
      expect(r.error).toMatchObject({ code: "BAD_INPUT", field: "backend" });
      expect(r.error!.message).toBe('unknown backend "tpu" (choose one of auto, webgpu, webgl, wasm, cpu)');
      expect(site.requests.slice(from)).toEqual([]);
    });

    it("wasm binaries that are not at wasmPaths: BACKEND_UNAVAILABLE saying where they were looked for", async () => {
      // A fresh page: wasm, once initialised in a page, stays so.
      const { page: p, context } = await site.open(browser);
      try {
        const wasmPaths = `${site.url}/nowhere/`;
        const r = await call<FailedLoad>(p, "failedLoad", `${site.url}/tiny/`, { backend: "wasm", cache: false, wasmPaths });
        expect(r.error).toMatchObject({ code: "BACKEND_UNAVAILABLE", field: "backend" });
        expect(r.error!.message).toBe(
          `backend "wasm" is not available: tfjs could not initialise wasm (are its .wasm files at ${wasmPaths}? copy them there from dist/web, or set wasmPaths)`,
        );
        expect(r.after).toBe(r.before);
      } finally {
        await context.close();
      }
    });

    it("a worker module that is not there: WORKER_FAILED naming its URL", async () => {
      const r = await failed("/tiny/", { worker: true, workerUrl: `${site.url}/nowhere/specter2.worker.js` });
      expect(r.error).toMatchObject({ code: "WORKER_FAILED" });
      expect(r.error!.message).toBe(`a pool worker could not load the model: the worker ${site.url}/nowhere/specter2.worker.js failed to start (is it there, and served as JavaScript?)`);
    });

    it("webgpu in a browser without WebGPU: BACKEND_UNAVAILABLE saying why; auto there takes webgl and says why", async () => {
      const plain = await launchChromium({ webgpu: false });
      try {
        const { page: p } = await site.open(plain);
        const r = await call<FailedLoad>(p, "failedLoad", `${site.url}/tiny/`, { backend: "webgpu", cache: false });
        expect(r.error).toMatchObject({ code: "BACKEND_UNAVAILABLE", field: "backend" });
        expect(r.error!.message).toMatch(/^backend "webgpu" is not available: (this browser has no WebGPU \(navigator\.gpu\)|the browser hands out no WebGPU adapter)$/);
        expect(r.after).toBe(r.before);
        const auto = await call<Embedded>(p, "embedRepeatedly", `${site.url}/tiny/`, { backend: "auto", cache: false }, INPUTS.slice(0, 3), {}, 1);
        expect(auto.backend.choice).toBe("webgl");
        expect(auto.backend.reason).toMatch(/^auto: webgpu: .*WebGPU.*; webgl initialised$/);
        // Another backend, the same numbers (DEFAULT_TOLERANCE; measured ~1e-7 on the tiny model).
        const { maxAbs } = compareRows(auto.vectors, mainThread.vectors.slice(0, 3));
        expect(maxAbs).toBeLessThan(1e-4);
      } finally {
        await plain.close();
      }
    }, 120_000);
  });

  it("the Cache API: a second load fetches only the manifest; a changed manifest fetches the changed file anew", async () => {
    // A page of its own: a fresh browser context, so an empty cache.
    const { page: p, context } = await site.open(browser);
    try {
      const url = `${site.url}/cached/`;
      const requestsFor = async (work: () => Promise<unknown>) => {
        const from = site.requests.length;
        await work();
        return site.requests
          .slice(from)
          .filter((r) => r.startsWith("GET /cached/"))
          .map((r) => r.slice("GET /cached/".length))
          .sort();
      };
      const load = () => call<Embedded>(p, "embedRepeatedly", url, { backend: "wasm", cache: true }, INPUTS, { adapter: null }, 1);
      const loadWith = (adapter: string) => call<Embedded>(p, "embedRepeatedly", url, { backend: "wasm", cache: true }, INPUTS, { adapter }, 1);
      const all = Object.keys((JSON.parse(readFileSync(join(cached, "manifest.json"), "utf8")) as Manifest).files);

      let first!: Embedded;
      expect(await requestsFor(async () => (first = await loadWith("proximity")))).toEqual(["manifest.json", ...all].sort());
      expect(first.vectors).toEqual(mainThread.vectors);
      expect((await call<string[]>(p, "cachedUrls")).length).toBe(all.length);

      let second!: Embedded;
      expect(await requestsFor(async () => (second = await loadWith("proximity")))).toEqual(["manifest.json"]);
      expect(second.vectors).toEqual(first.vectors);

      // Re-converted at the same URL with the proximity adapter's weights changed: its new digest is a new key.
      perturbLastWeight(join(cached, "adapters", "proximity.safetensors"), 0.25);
      refreshManifest(cached, "adapters/proximity.safetensors");
      let third!: Embedded;
      expect(await requestsFor(async () => (third = await loadWith("proximity")))).toEqual(["adapters/proximity.safetensors", "manifest.json"]);
      expect(compareRows(third.vectors, first.vectors).maxAbs).toBeGreaterThan(1e-4);
      // What the changed model computes, loaded without the cache.
      const fresh = await call<Embedded>(page, "embedRepeatedly", url, { backend: "wasm", cache: false }, INPUTS, { adapter: "proximity" }, 1);
      expect(third.vectors).toEqual(fresh.vectors);
      // The base came from the cache and is the same base.
      const base = await load();
      const baseFresh = await call<Embedded>(page, "embedRepeatedly", url, { backend: "wasm", cache: false }, INPUTS, { adapter: null }, 1);
      expect(base.vectors).toEqual(baseFresh.vectors);
    } finally {
      await context.close();
    }
  }, 120_000);

  it("a Cache API that refuses to keep a file loses nothing: the model loads, and a warning names each file", async () => {
    const { page: p, context } = await site.open(browser);
    try {
      const r = await call<{ warnings: string[]; vectors: number[][] }>(p, "loadWithRefusingCache", `${site.url}/tiny/`, { backend: "wasm" }, INPUTS);
      const files = Object.keys((JSON.parse(readFileSync(join(TINY, "manifest.json"), "utf8")) as Manifest).files).sort();
      expect(r.warnings.map((w) => /^(\S+): /.exec(w)?.[1]).sort()).toEqual(files.map((f) => `${site.url}/tiny/${f}`).sort());
      expect(r.warnings[0]).toMatch(/: the Cache API did not keep it \(Quota exceeded\.\), so the next load downloads it again$/);
      expect(r.vectors).toEqual((await call<Embedded>(page, "embedRepeatedly", `${site.url}/tiny/`, { backend: "wasm", cache: false }, INPUTS, {}, 1)).vectors);
    } finally {
      await context.close();
    }
  });

  it("the Web Worker mode (worker: true) gives the main thread's vectors exactly, and the load's progress", async () => {
    const inWorker = await call<Embedded>(page, "embedRepeatedly", `${site.url}/tiny/`, { backend: "wasm", cache: false, worker: true }, INPUTS, {}, 2);
    expect(inWorker.workers).toBe(1);
    expect(inWorker.backend).toMatchObject({ choice: "wasm" });
    expect(inWorker.vectors).toEqual(mainThread.vectors);
    // The worker fetches the weights and reports the progress, to the end.
    expect(inWorker.progress).toMatchObject({ loaded: TINY_BYTES, total: TINY_BYTES });
    // The tensors live in the worker: the page's own count never moves.
    expect(new Set([inWorker.tensors.before, inWorker.tensors.loaded, ...inWorker.tensors.afterEach, inWorker.tensors.closed]).size).toBe(1);
  });
});
