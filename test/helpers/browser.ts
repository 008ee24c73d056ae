// The browser tests' machinery: Debian's Chromium (/usr/bin/chromium, never a downloaded one) driven by
// puppeteer-core, and a static site on 127.0.0.1 with the cross-origin-isolation headers (the `specter2 web` server,
// src/cli/webServer.ts): the browser bundle built into a temporary folder at /, the test page (test/browser/page)
// at /harness/, fixtures at whatever prefix a test mounts, every request recorded.
//
// Chromium runs headless with SwiftShader: WebGL2 by default, WebGPU with the flags below. SwiftShader
// is a software GPU: these tests prove code paths and parity, not speed.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type * as NodeModule from "node:module";
import type * as Puppeteer from "puppeteer-core";
import type { Browser, BrowserContext, Page } from "puppeteer-core";
import type { StaticServer } from "../../src/cli/webServer";
import { startStaticServer } from "../../src/cli/webServer";

export const ROOT = join(__dirname, "..", "..");
export const CHROMIUM = process.env.SPECTER2_CHROMIUM ?? "/usr/bin/chromium";
export const HAVE_CHROMIUM = existsSync(CHROMIUM);
/** Where the browser tests write what a person should look at (screenshots); gitignored. */
export const OUTPUT_DIR = join(ROOT, "test-output", "browser");

/** The flags that give headless Chromium a WebGPU adapter on SwiftShader (Vulkan). */
export const WEBGPU_FLAGS = ["--enable-unsafe-webgpu", "--enable-features=Vulkan", "--use-vulkan=swiftshader", "--use-webgpu-adapter=swiftshader"];

/** CI (CI set, or SPECTER2_BROWSER_TEST=1 as .ci/run sets): the browser tests must run there, never skip. */
const BROWSER_REQUIRED = Boolean(process.env.CI) || process.env.SPECTER2_BROWSER_TEST === "1";

/**
 * `describe` where Chromium is installed. Where it is not: in CI one failing test, so a green CI run proves the
 * browser path; elsewhere the block is skipped with a message saying why.
 */
export function describeInBrowser(name: string, body: () => void): void {
  if (HAVE_CHROMIUM) {
    describe(name, body);
  } else if (BROWSER_REQUIRED) {
    describe(name, () => {
      it("has Chromium to run in", () => {
        throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install chromium; .ci/run does) or set SPECTER2_CHROMIUM`);
      });
    });
  } else {
    console.warn(`skipped "${name}": ${CHROMIUM} is missing (apt-get install chromium, or set SPECTER2_CHROMIUM); in CI (CI or SPECTER2_BROWSER_TEST=1) this fails instead`);
    describe.skip(name, body);
  }
}

// puppeteer-core is an ES module: Node's own require loads it (require(esm)), jest's registry (and the createRequire
// that jest hands out) cannot, so this takes Node's module builtin past jest's.
const nodeModule = (process as unknown as { getBuiltinModule(id: string): typeof NodeModule }).getBuiltinModule("node:module");
const puppeteer = nodeModule.createRequire(__filename)("puppeteer-core") as typeof Puppeteer;

/** `protocolTimeout`: how long one call into the page may take (puppeteer's default 180 s; the benchmark's are longer). */
export async function launchChromium(options: { webgpu?: boolean; protocolTimeout?: number } = {}): Promise<Browser> {
  return puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    ...(options.protocolTimeout ? { protocolTimeout: options.protocolTimeout } : {}),
    args: [
      // Tests run as root in containers, where Chromium's sandbox cannot start.
      "--no-sandbox",
      "--disable-dev-shm-usage",
      // WebGL on SwiftShader, without the warning that software WebGL will need this flag.
      "--enable-unsafe-swiftshader",
      ...(options.webgpu === false ? [] : WEBGPU_FLAGS),
    ],
  });
}

/** The browser bundle (scripts/build-web.mjs, bundles only) built into a fresh temporary folder: ~1 s. */
export function buildWebBundle(): string {
  const out = join(mkdtempSync(join(tmpdir(), "specter2-web-")), "web");
  execFileSync(process.execPath, [join(ROOT, "scripts", "build-web.mjs"), "--out", out, "--no-types"], { stdio: "pipe" });
  return out;
}

export interface TestSite extends StaticServer {
  /** Every request so far, as "GET /path". */
  readonly requests: string[];
  /** The page with the harness (test/browser/page/harness.mjs) loaded, in a fresh browser context (its own Cache API,
   *  kept in memory, as a private window's: it refuses entries of 256 MiB and more), or with `persistent` in the
   *  browser's default context (its profile on disk, as a user's), which the caller must not close. */
  open(browser: Browser, options?: { persistent?: boolean }): Promise<{ page: Page; context: BrowserContext; errors: string[] }>;
}

/** The bundle at /, the harness page at /harness/, the scivocab and the model fixtures where `mounts` says. */
export async function startTestSite(mounts: Record<string, string> = {}): Promise<TestSite> {
  const web = buildWebBundle();
  const requests: string[] = [];
  const server = await startStaticServer({
    mounts: { "/": web, "/harness/": join(ROOT, "test", "browser", "page"), "/vocab/": join(ROOT, "test", "fixtures", "vocab"), ...mounts },
    onRequest: (method, path) => requests.push(`${method} ${path}`),
  });
  return {
    ...server,
    requests,
    async open(browser, options = {}) {
      const context = options.persistent ? browser.defaultBrowserContext() : await browser.createBrowserContext();
      const page = await context.newPage();
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(String(e)));
      await page.goto(`${server.url}/harness/`);
      await page.waitForFunction(() => "harness" in globalThis, { timeout: 30_000 });
      return { page, context, errors };
    },
  };
}

/** A Specter2Error as the page reports it: `harness` catches errors and returns these fields. */
export interface PageError {
  name: string;
  message: string;
  code?: string;
  url?: string;
  file?: string;
  field?: string;
}

/** Calls `harness[name](...args)` in the page (test/browser/page/harness.mjs) and returns its JSON result. */
export function call<T>(page: Page, name: string, ...args: unknown[]): Promise<T> {
  return page.evaluate(
    (fn: string, a: unknown[]) => (globalThis as unknown as { harness: Record<string, (...x: unknown[]) => Promise<unknown>> }).harness[fn](...a),
    name,
    args,
  ) as Promise<T>;
}

export function ensureOutputDir(): string {
  mkdirSync(OUTPUT_DIR, { recursive: true });
  return OUTPUT_DIR;
}

/** Max |a - b| over every element, and the lowest per-row cosine similarity. */
export function compareRows(ours: readonly (readonly number[])[], expected: readonly (readonly number[])[]): { maxAbs: number; minCosine: number } {
  let maxAbs = 0;
  let minCosine = 1;
  expect(ours.length).toBe(expected.length);
  ours.forEach((row, r) => {
    const ref = expected[r];
    expect(row.length).toBe(ref.length);
    let dot = 0;
    let na = 0;
    let nb = 0;
    row.forEach((x, c) => {
      const d = Math.abs(x - ref[c]);
      if (!(d <= maxAbs)) maxAbs = d; // NaN lands here and stays
      dot += x * ref[c];
      na += x * x;
      nb += ref[c] * ref[c];
    });
    const cos = dot / Math.sqrt(na * nb);
    if (!(cos >= minCosine)) minCosine = cos;
  });
  return { maxAbs, minCosine };
}
