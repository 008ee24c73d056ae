// The browser entry through a bundler, as docs/browser.md tells an application to use it: esbuild bundles an app that
// imports "specter2-tfjs" (the package's "browser" export condition: dist/web/esm, tfjs left to the app's bundler),
// the .wasm files copied where `wasmPaths` says, the self-contained worker (dist/web/specter2.worker.js) where
// `workerUrl` says; in Chromium it gives Node's vectors, on the main thread and in the worker.
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";
import type { Browser } from "puppeteer-core";
import { startStaticServer, type StaticServer } from "../../src/cli/webServer";
import { Specter2 } from "../../src/node/specter2";
import { buildWebBundle, compareRows, describeInBrowser, launchChromium, ROOT } from "../helpers/browser";

const TINY = join(ROOT, "weights", "specter2-tiny");
const INPUTS = [{ title: "BERT", abstract: "We introduce a new language representation model." }, "citation graph embeddings"];

const APP = `import { Specter2, memory } from "specter2-tfjs";
globalThis.run = async (options) => {
  const m = await Specter2.load("/model/", { cache: false, wasmPaths: "/assets/wasm/", workerUrl: "/assets/specter2.worker.js", ...options });
  const vectors = (await m.embed(${JSON.stringify(INPUTS)})).map((v) => Array.from(v));
  const out = { backend: m.backend.name, workers: m.workers, vectors };
  await m.close();
  return { ...out, tensors: memory().numTensors };
};
`;

describeInBrowser("the package's browser condition, bundled by an application", () => {
  let server: StaticServer;
  /** The same site without the cross-origin-isolation headers. */
  let plain: StaticServer;
  let browser: Browser;
  let expected: number[][];
  let inputs: string[];

  beforeAll(async () => {
    // An application folder with the package installed as npm would: its package.json and dist/web.
    const app = mkdtempSync(join(tmpdir(), "specter2-bundled-app-"));
    const pkg = join(app, "node_modules", "specter2-tfjs");
    mkdirSync(join(pkg, "dist"), { recursive: true });
    copyFileSync(join(ROOT, "package.json"), join(pkg, "package.json"));
    const web = buildWebBundle();
    cpSync(web, join(pkg, "dist", "web"), { recursive: true });
    writeFileSync(join(app, "main.js"), APP);
    const site = join(app, "site");
    const result = await build({
      absWorkingDir: app,
      entryPoints: [join(app, "main.js")],
      outfile: join(site, "main.js"),
      bundle: true,
      format: "esm",
      platform: "browser",
      metafile: true,
      logLevel: "silent",
      // tfjs as the application has it: from this repository's node_modules.
      nodePaths: [join(ROOT, "node_modules")],
    });
    inputs = Object.keys(result.metafile.inputs);
    // What an application copies next to its bundle: the tfjs wasm binaries and the self-contained worker.
    mkdirSync(join(site, "assets", "wasm"), { recursive: true });
    for (const f of readdirSync(web).filter((f) => f.endsWith(".wasm"))) copyFileSync(join(web, f), join(site, "assets", "wasm", f));
    copyFileSync(join(web, "specter2.worker.js"), join(site, "assets", "specter2.worker.js"));
    writeFileSync(join(site, "index.html"), `<!doctype html><script type="module" src="./main.js"></script>\n`);
    server = await startStaticServer({ mounts: { "/": site, "/model/": TINY } });
    plain = await startStaticServer({ mounts: { "/": site, "/model/": TINY }, isolate: false });
    browser = await launchChromium({ webgpu: false });
    const model = await Specter2.load(TINY, { workers: 0, backend: "wasm" });
    expected = (await model.embed(INPUTS)).map((v) => Array.from(v));
    await model.close();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await plain?.close();
  });

  it("resolves to dist/web/esm with tfjs bundled from the application's node_modules", () => {
    expect(inputs).toContain("node_modules/specter2-tfjs/dist/web/esm/index.js");
    expect(inputs.filter((f) => f.includes("dist/web/specter2.js") || f.includes("dist/src/"))).toEqual([]);
    expect(inputs.some((f) => f.includes("@tensorflow/tfjs-backend-wasm/"))).toBe(true);
  });

  it.each([
    ["on the main thread", { backend: "wasm" }, 0, true],
    ["in the Web Worker", { backend: "wasm", worker: true }, 1, true],
    ["on a page that is not cross-origin isolated", { backend: "wasm" }, 0, false],
  ])("wasm %s: Node's vectors, nothing left allocated", async (_, options, workers, isolated) => {
    const page = await browser.newPage();
    try {
      await page.goto(`${(isolated ? server : plain).url}/`);
      await page.waitForFunction(() => "run" in globalThis);
      const out = await page.evaluate(
        (o) => (globalThis as unknown as { run(o: unknown): Promise<{ backend: string; workers: number; vectors: number[][]; tensors: number }> }).run(o),
        options,
      );
      expect(out).toMatchObject({ workers, tensors: 0 });
      // Isolated, tfjs loads its threaded build (the name says how many threads it runs: on 2 cores, one).
      if (isolated) expect(out.backend).toMatch(/^wasm \(multi-threaded(: \d+ threads| build on 1 thread: .*)\)$/);
      else expect(out.backend).toBe("wasm (single-threaded: the page is not cross-origin isolated)");
      // The same wasm kernels as Node's, threads or not: equal to float32 rounding of a different summation order.
      expect(compareRows(out.vectors, expected).maxAbs).toBeLessThan(1e-5);
    } finally {
      await page.close();
    }
  });
});
