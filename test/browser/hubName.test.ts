// `Specter2.load("allenai/specter2")` in a page (Chromium, test/helpers/browser.ts) against the stand-in Hub
// (test/helpers/fakeHub.ts) on another origin, its LFS files redirected to a third (the "CDN"): the page lists each repo
// through the Hub's API, fetches the files at the listed commit, checks each against the listing (fetch never shows the
// redirect's X-Linked-Etag), reads the torch .bin with the allowlisted unpickler and converts it in the page. The
// vectors are Node's of the same files converted by hand; a second load needs no network (the conversion is kept in the
// Cache API by commit); int8 is a conversion of its own; a corrupted file is refused by its sha256, naming its URL; a token goes to
// the Hub (preflighted) and never to the CDN.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "puppeteer-core";
import { convertModel } from "../../convert/convert";
import { Specter2 } from "../../src/node/specter2";
import type { PageError, TestSite } from "../helpers/browser";
import { call, compareRows, describeInBrowser, launchChromium, startTestSite } from "../helpers/browser";
import { EXAMPLE_PAPERS } from "../helpers/examplePapers";
import { FAKE_COMMIT, FakeHub, SPECTER2_FIXTURE_REPOS } from "../helpers/fakeHub";

const INPUTS = [...EXAMPLE_PAPERS.slice(0, 4), "citation graph embeddings"];
const NAMES = ["proximity", "adhoc_query", "classification", "regression"];

interface Loaded {
  adapters: string[];
  defaultAdapter: string | null;
  dtype: string;
  converter: string;
  weightsBytes: number;
  location: string;
  workers: number;
  vectors: number[][];
  progress: { file: string; loaded: number; total: number } | null;
  reports: number;
}

/** Node's vectors of the same fixture files converted by hand, on wasm, with proximity (the name's default). */
async function nodeVectors(): Promise<number[][]> {
  const out = join(mkdtempSync(join(tmpdir(), "by-hand-")), "model");
  const adapters = NAMES.map((name) => ({ name, dir: SPECTER2_FIXTURE_REPOS[name === "proximity" ? "allenai/specter2" : `allenai/specter2_${name}`] }));
  await convertModel({ base: SPECTER2_FIXTURE_REPOS["allenai/specter2_base"], adapters, out });
  const model = await Specter2.load(out, { workers: 0, backend: "wasm" });
  try {
    return (await model.embed(INPUTS, { adapter: "proximity" })).map((v) => [...v]);
  } finally {
    await model.close();
  }
}

describeInBrowser("a model by its Hub name in Chromium", () => {
  let site: TestSite;
  let browser: Browser;
  let page: Page;
  let expected: number[][];
  let first: Loaded;
  const hubs: FakeHub[] = [];
  const startHub = async (options: Partial<Parameters<typeof FakeHub.start>[0]> = {}) => {
    const hub = await FakeHub.start({ repos: SPECTER2_FIXTURE_REPOS, ...options });
    hubs.push(hub);
    return hub;
  };

  beforeAll(async () => {
    expected = await nodeVectors();
    site = await startTestSite();
    browser = await launchChromium({ webgpu: false });
    ({ page } = await site.open(browser));
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await site?.close();
    for (const hub of hubs) await hub.close();
  });

  it("loads allenai/specter2: each repo listed, its files fetched at the listed commit and checked, the .bin converted in the page; Node's vectors", async () => {
    const hub = await startHub();
    first = await call<Loaded>(page, "describeLoad", "allenai/specter2", { endpoint: hub.endpoint, backend: "wasm" }, INPUTS);
    expect(first.adapters).toEqual(NAMES);
    expect(first.defaultAdapter).toBe("proximity");
    expect(first.dtype).toBe("float32");
    expect(first.converter).toMatch(/^specter2-tfjs \d+\.\d+\.\d+/);
    expect(compareRows(first.vectors, expected).maxAbs).toBeLessThan(1e-5);
    // The API's listing of each repo at main, then every file at the commit it named; the weights through the CDN.
    const paths = hub.requests.filter((r) => r.on === "hub").map((r) => r.path);
    for (const repo of ["allenai/specter2_base", "allenai/specter2", "allenai/specter2_adhoc_query", "allenai/specter2_classification", "allenai/specter2_regression"]) {
      expect(paths).toContain(`/api/models/${repo}/revision/main`);
    }
    expect(paths).toContain(`/allenai/specter2_base/resolve/${FAKE_COMMIT}/pytorch_model.bin`);
    expect(paths.filter((p) => p.includes("/resolve/main/"))).toEqual([]);
    expect(hub.requestsFor("allenai/specter2_base/pytorch_model.bin").map((r) => r.on)).toEqual(["hub", "cdn"]);
    // Prediction heads are never fetched.
    expect(hub.requestsFor("allenai/specter2_adhoc_query/pytorch_model_head.bin")).toEqual([]);
    // Progress in bytes, up to every byte fetched.
    expect(first.reports).toBeGreaterThan(5);
    expect(first.progress!.loaded).toBe(first.progress!.total);
    expect(first.progress!.total).toBeGreaterThan(50_000);
    // The Cache API keeps the conversion (and the listings), never the raw files.
    const kept = await call<string[]>(page, "cachedUrls");
    expect(kept).toContain(`${first.location}manifest.json`);
    expect(kept).toContain(`${first.location}model.safetensors`);
    expect(kept.filter((u) => u.includes("/resolve/"))).toEqual([]);
  }, 120_000);

  it("a second load needs no network: the Hub gone, the conversion read back from the Cache API, the same vectors", async () => {
    const hub = hubs[0];
    const endpoint = hub.endpoint;
    await hub.close();
    const again = await call<Loaded>(page, "describeLoad", "allenai/specter2", { endpoint, backend: "wasm" }, INPUTS);
    expect(again.location).toBe(first.location);
    expect(again.vectors).toEqual(first.vectors);
    expect(again.progress!.loaded).toBe(again.progress!.total);
  }, 120_000);

  it("dtype int8 is a conversion of its own, its matrices in a byte per weight; on Web Workers, which get its files from the page", async () => {
    const hub = await startHub();
    const int8 = await call<Loaded>(page, "describeLoad", "allenai/specter2_adhoc_query", { endpoint: hub.endpoint, backend: "wasm", dtype: "int8", workers: 1 }, INPUTS);
    expect(int8).toMatchObject({ dtype: "int8", defaultAdapter: "adhoc_query", workers: 1 });
    expect(int8.location).toMatch(/\/\.specter2-tfjs\/allenai\/specter2_adhoc_query\/int8-[0-9a-f]{16}\/$/);
    expect(int8.vectors).toHaveLength(INPUTS.length);
    // Smaller, though not by four on the tiny fixture: its header and its vectors (biases, LayerNorms, kept float32)
    // weigh as much as its 16-wide matrices.
    expect(int8.weightsBytes).toBeLessThan(first.weightsBytes);
  }, 120_000);

  it("a corrupted .bin is refused by its sha256, naming its URL; nothing is kept", async () => {
    const hub = await startHub();
    hub.corrupt.add("allenai/specter2_base/pytorch_model.bin");
    const { page: fresh, context } = await site.open(browser);
    try {
      const r = await call<{ loaded: boolean; error: PageError }>(fresh, "failedLoad", "allenai/specter2", { endpoint: hub.endpoint, backend: "wasm" });
      expect(r.loaded).toBe(false);
      const url = `${hub.endpoint}/allenai/specter2_base/resolve/${FAKE_COMMIT}/pytorch_model.bin`;
      expect(r.error).toMatchObject({ code: "HUB_ERROR", url });
      expect(r.error.message).toMatch(
        new RegExp(
          `^${url.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}: sha256 mismatch, the Hub's listing says [0-9a-f]{64} but the downloaded bytes have [0-9a-f]{64} \\(served by http://localhost:\\d+/cdn/`,
        ),
      );
      expect((await call<string[]>(fresh, "cachedUrls")).filter((u) => u.includes(".specter2-tfjs"))).toEqual([]);
    } finally {
      await context.close();
    }
  }, 120_000);

  it("a token goes to the Hub (preflighted) and never to the CDN; without it the Hub's 401 says to give one", async () => {
    const hub = await startHub({ token: "hf_page" });
    const { page: fresh, context } = await site.open(browser);
    try {
      const refused = await call<{ loaded: boolean; error: PageError }>(fresh, "failedLoad", "allenai/specter2", { endpoint: hub.endpoint, backend: "wasm" });
      expect(refused.error.code).toBe("HUB_ERROR");
      expect(refused.error.message).toContain("HTTP 401, not authorized to read allenai/specter2_base; if the repo is private or gated, set the token option to an access token");
      const loaded = await call<Loaded>(fresh, "describeLoad", "allenai/specter2", { endpoint: hub.endpoint, backend: "wasm", token: "hf_page" }, INPUTS);
      expect(compareRows(loaded.vectors, expected).maxAbs).toBeLessThan(1e-5);
      const gets = hub.requests.filter((r) => !r.path.startsWith("OPTIONS ") && r.authorization !== undefined);
      expect(gets.length).toBeGreaterThan(5);
      expect(gets.every((r) => r.on === "hub" && r.authorization === "Bearer hf_page")).toBe(true);
      expect(hub.requests.filter((r) => r.on === "cdn").every((r) => r.authorization === undefined)).toBe(true);
      expect(hub.requests.some((r) => r.path.startsWith("OPTIONS /api/models/"))).toBe(true);
    } finally {
      await context.close();
    }
  }, 120_000);
});
