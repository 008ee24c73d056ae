// The demo page (examples/web, as `specter2 web` serves it: src/cli/webServer.ts startWebDemo) end to end in
// Chromium on its default backend (auto): it loads the demo model with a progress bar, embeds a typed paper, and
// ranks the example papers for a typed query exactly as `specter2 search` ranks them (proximity papers, adhoc_query
// query, L2 distance: computed here in Node with the library). Screenshots go to test-output/browser/ to be looked at.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "puppeteer-core";
import { startWebDemo } from "../../src/cli/webServer";
import { makeScorer } from "../../src/search/search";
import { Specter2 } from "../../src/node/specter2";
import { buildWebBundle, describeInBrowser, ensureOutputDir, launchChromium, ROOT } from "../helpers/browser";
import { EXAMPLE_PAPERS } from "../helpers/examplePapers";

const TINY = join(ROOT, "weights", "specter2-tiny");
const PAPERS = EXAMPLE_PAPERS;
const QUERY = "adapters for search queries";
const PAPER = { title: "Attention is all you need", abstract: "We propose the Transformer, based solely on attention mechanisms." };

describeInBrowser("the demo page in Chromium", () => {
  let demo: Awaited<ReturnType<typeof startWebDemo>>;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];
  /** `specter2 search`'s ranking of the example papers for QUERY, and the embedded PAPER's norm, from Node. */
  let expected: { ranking: { id: string; distance: number }[]; norm: number; first: number[] };

  beforeAll(async () => {
    const model = await Specter2.load(TINY, { workers: 0, backend: "wasm" });
    try {
      const vectors = await model.embed(PAPERS, { adapter: "proximity" });
      const [query] = await model.embed([QUERY], { adapter: "adhoc_query" });
      const scorer = makeScorer("l2", query);
      const ranking = vectors.map((v, row) => ({ row, id: PAPERS[row].paper_id, distance: scorer.score(v) })).sort((a, b) => a.distance - b.distance || a.row - b.row);
      const [paper] = await model.embed([PAPER], { adapter: "proximity" });
      expected = { ranking, norm: Math.sqrt(paper.reduce((s, x) => s + x * x, 0)), first: Array.from(paper.slice(0, 8)) };
    } finally {
      await model.close();
    }
    demo = await startWebDemo({ model: TINY, distWeb: buildWebBundle(), port: 0 });
    browser = await launchChromium();
    page = await browser.newPage();
    page.on("pageerror", (e) => pageErrors.push(String(e)));
    await page.setViewport({ width: 1000, height: 1300 });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await demo?.close();
  });

  it("loads the model with a progress bar and shows the backend and timing", async () => {
    await page.goto(demo.demoUrl);
    await page.waitForSelector("body[data-state=ready], body[data-state=error]", { timeout: 60_000 });
    expect(await page.$eval("body", (b) => b.dataset.state)).toBe("ready");
    const progress = await page.$eval("#progress", (p) => ({ value: p.value, max: p.max }));
    const manifest = JSON.parse(readFileSync(join(TINY, "manifest.json"), "utf8")) as { files: Record<string, { bytes: number }> };
    // Every file the load reads but the manifest itself, counted in the progress total.
    expect(progress.max).toBe(Object.values(manifest.files).reduce((n, f) => n + f.bytes, 0));
    expect(progress.value).toBe(progress.max);
    const status = await page.$eval("#load-status", (e) => e.textContent);
    // auto on Chromium with SwiftShader's WebGPU adapter: webgpu.
    expect(status).toMatch(/^backend webgpu · loaded in \d+ ms · 64 dimensions · adapters proximity, adhoc_query, classification, regression$/);
  }, 90_000);

  it("embeds a typed paper: its dimensions, norm and first values, as the library computes them", async () => {
    await page.$eval("#title", (e) => (e.value = ""));
    await page.type("#title", PAPER.title);
    await page.$eval("#abstract", (e) => (e.value = ""));
    await page.type("#abstract", PAPER.abstract);
    await page.click("#embed-button");
    await page.waitForSelector("body[data-state=ready] #embed-result:not(:empty)", { timeout: 60_000 });
    const text = await page.$eval("#embed-result", (e) => e.textContent ?? "");
    expect(text).toContain(`64 dimensions (proximity)`);
    expect(text).toContain(`norm ${expected.norm.toFixed(4)}`);
    expect(text).toContain(`[${expected.first.map((x) => x.toFixed(4)).join(", ")}, …]`);
  });

  it("searches: a typed query ranks the papers as `specter2 search` does, the expected paper first", async () => {
    await page.$eval("#query", (e) => (e.value = ""));
    await page.type("#query", QUERY);
    await page.click("#search-button");
    await page.waitForSelector("body[data-state=ready] #results:not([hidden])", { timeout: 60_000 });
    const rows = await page.$$eval("#results tbody tr", (trs) => trs.map((tr) => ({ id: tr.dataset.paperId, distance: Number(tr.children[1].textContent) })));
    expect(rows.map((r) => r.id)).toEqual(expected.ranking.map((r) => r.id));
    rows.forEach((r, i) => expect(Math.abs(r.distance - expected.ranking[i].distance)).toBeLessThanOrEqual(5e-5 + 1e-4));
    expect(await page.$eval("#results tbody tr.top", (tr) => tr.dataset.paperId)).toBe(expected.ranking[0].id);
    expect(await page.$eval("#search-status", (e) => e.textContent)).toMatch(
      /^13 papers embedded with proximity in \d+ ms \(once\) · query embedded with adhoc_query in \d+ ms · ranked by L2 distance, lower is closer$/,
    );
    await page.screenshot({ path: join(ensureOutputDir(), "demo.png"), fullPage: true });
    expect(pageErrors).toEqual([]);
  });

  it("?backend=wasm&workers=2 computes in a pool of two Web Workers, and searches as on the page's thread", async () => {
    const poolPage = await browser.newPage();
    try {
      await poolPage.goto(`${demo.demoUrl}?backend=wasm&workers=2`);
      await poolPage.waitForSelector("body[data-state=ready], body[data-state=error]", { timeout: 60_000 });
      expect(await poolPage.$eval("#load-status", (e) => e.textContent)).toMatch(/^backend wasm \(single-threaded\) in 2 Web Workers · loaded in \d+ ms · /);
      await poolPage.$eval("#query", (e) => (e.value = ""));
      await poolPage.type("#query", QUERY);
      await poolPage.click("#search-button");
      await poolPage.waitForSelector("body[data-state=ready] #results:not([hidden])", { timeout: 60_000 });
      const ids = await poolPage.$$eval("#results tbody tr", (trs) => trs.map((tr) => tr.dataset.paperId));
      expect(ids).toEqual(expected.ranking.map((r) => r.id));
    } finally {
      await poolPage.close();
    }
  }, 90_000);

  it("shows a load error in the page: a model URL that is not there, named", async () => {
    const errorPage = await browser.newPage();
    try {
      await errorPage.setViewport({ width: 1000, height: 700 });
      await errorPage.goto(`${demo.demoUrl}?model=../nowhere/`);
      await errorPage.waitForSelector("body[data-state=error]", { timeout: 60_000 });
      const text = await errorPage.$eval("#error", (e) => (e.hidden ? null : e.textContent));
      expect(text).toBe(`MODEL_NOT_FOUND: ${demo.url}/nowhere/manifest.json: 404 Not Found`);
      expect(await errorPage.$eval("#search-button", (b) => b.disabled)).toBe(true);
      await errorPage.screenshot({ path: join(ensureOutputDir(), "demo-error.png") });
    } finally {
      await errorPage.close();
    }
  });
});
