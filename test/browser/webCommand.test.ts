// `specter2 web` as a user runs it (the built binary, dist/src/cli/main.js, as test/cli/binary.test.ts runs it):
// it serves the demo page, the browser bundle and the model directory with the cross-origin-isolation headers, only
// from inside the folders it serves, prints its URL and stops on SIGTERM and SIGINT. No browser needed.
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startWebDemo } from "../../src/cli/webServer";
import { ROOT } from "../helpers/browser";
import { addUserFiles, linkOut } from "../helpers/hostileFiles";

const BIN = join(ROOT, "dist", "src", "cli", "main.js");
const TINY = join(ROOT, "weights", "specter2-tiny");
const ISOLATION = { "cross-origin-opener-policy": "same-origin", "cross-origin-embedder-policy": "require-corp" };

/** A raw GET (fetch would normalise `..` and `%2e%2e` away before sending). */
function get(url: string, path: string, method = "GET"): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { method }, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (d: string) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

/** Starts `specter2 web` and resolves with its demo URL once it printed it. */
function startCli(args: string[]): Promise<{ child: ChildProcess; demoUrl: string; output: () => string; exited: Promise<number | null> }> {
  const child = spawn(process.execPath, [BIN, "web", ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL in 30 s:\n${output}`)), 30_000);
    child.stderr.setEncoding("utf8").on("data", (d: string) => (output += d));
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      output += d;
      const url = /the demo is at (http:\/\/\S+\/demo\/)/.exec(output)?.[1];
      if (url) {
        clearTimeout(timer);
        resolve({ child, demoUrl: url, output: () => output, exited });
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`specter2 web exited ${code} before it printed its URL:\n${output}`));
    });
  });
}

beforeAll(() => {
  // The bundle where the command looks for it (the package's dist/web), as `npm run build:web` writes it.
  execFileSync(process.execPath, [join(ROOT, "scripts", "build-web.mjs"), "--no-types"], { stdio: "pipe" });
}, 60_000);

describe("specter2 web", () => {
  it.each(["SIGTERM", "SIGINT"] as const)(
    "serves the page, the bundle and the model with the isolation headers, nothing outside them; stops on %s",
    async (signal) => {
      const { child, demoUrl, output, exited } = await startCli(["--model", TINY, "--port", "0"]);
      try {
        const base = demoUrl.replace(/\/demo\/$/, "");
        expect(output()).toContain(`model ${TINY} at ${base}/model/`);
        const page = await get(base, "/demo/");
        expect(page).toMatchObject({ status: 200, headers: { ...ISOLATION, "content-type": "text/html; charset=utf-8" } });
        expect(page.body).toContain('<script type="module" src="./app.js"></script>');
        expect(page.body).toBe(readFileSync(join(ROOT, "examples", "web", "index.html"), "utf8"));
        expect(await get(base, "/demo/app.js")).toMatchObject({ status: 200, headers: { ...ISOLATION, "content-type": "text/javascript; charset=utf-8" } });
        const manifest = await get(base, "/model/manifest.json");
        expect(manifest).toMatchObject({ status: 200, headers: { ...ISOLATION, "content-type": "application/json; charset=utf-8" } });
        expect(manifest.body).toBe(readFileSync(join(TINY, "manifest.json"), "utf8"));
        const bundle = await get(base, "/specter2.js");
        expect(bundle).toMatchObject({ status: 200, headers: { ...ISOLATION, "content-type": "text/javascript; charset=utf-8" } });
        expect(bundle.body).toBe(readFileSync(join(ROOT, "dist", "web", "specter2.js"), "utf8"));
        expect((await get(base, "/tfjs-backend-wasm-threaded-simd.wasm", "HEAD")).headers["content-type"]).toBe("application/wasm");
        // Folders without their slash are redirected (so the page's relative URLs resolve), "/" goes to the demo.
        expect(await get(base, "/demo")).toMatchObject({ status: 301, headers: { location: "/demo/" } });
        expect(await get(base, "/model")).toMatchObject({ status: 301, headers: { location: "/model/" } });
        expect(await get(base, "/")).toMatchObject({ status: 302, headers: { location: "/demo/" } });
        // Nothing outside the served folders, no listing, no other method.
        for (const path of ["/model/%2e%2e/%2e%2e/package.json", "/model/../../package.json", "/..%2f..%2fpackage.json", "/model/", "/nowhere"]) {
          expect([path, (await get(base, path)).status]).toEqual([path, 404]);
        }
        expect((await get(base, "/model/manifest.json", "POST")).status).toBe(405);
        child.kill(signal);
        expect(await exited).toBe(0);
        expect(output()).toContain(`specter2 web: stopped (${signal})`);
      } finally {
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      }
    },
    60_000,
  );

  it("serves the model directory's model only: a symlink leading out (to /etc/passwd) and a file the manifest does not list are 404", async () => {
    const model = join(mkdtempSync(join(tmpdir(), "specter2-web-links-")), "model");
    cpSync(TINY, model, { recursive: true });
    linkOut(model, "passwd", "/etc/passwd");
    addUserFiles(model);
    const { child, demoUrl, exited } = await startCli(["--model", model, "--port", "0"]);
    try {
      const base = demoUrl.replace(/\/demo\/$/, "");
      expect((await get(base, "/model/manifest.json")).status).toBe(200);
      for (const path of ["/model/passwd", "/model/NOTES.md"]) {
        const r = await get(base, path);
        expect([path, r.status, r.body.includes("root:")]).toEqual([path, 404, false]);
      }
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
  }, 60_000);

  it("a folder that is not a model directory: exit 3 (MODEL_NOT_FOUND), naming it", () => {
    const dir = mkdtempSync(join(tmpdir(), "specter2-web-nomodel-"));
    const r = spawnSync(process.execPath, [BIN, "web", "--model", dir, "--port", "0"], { encoding: "utf8", timeout: 30_000 });
    expect(r.status).toBe(3);
    expect(r.stderr).toBe(`specter2: ${dir}: no manifest.json there; give a model directory from \`specter2 convert\` or \`specter2 download\`\n`);
  });

  it("without the browser bundle: an error that says how to build it", async () => {
    const empty = mkdtempSync(join(tmpdir(), "specter2-web-nobundle-"));
    await expect(startWebDemo({ model: TINY, distWeb: empty })).rejects.toThrow(
      `${join(empty, "specter2.js")} is missing: build the browser bundle first with \`npm run build:web\` (in the specter2-tfjs checkout)`,
    );
  });

  it("--help lists its options and loads no tfjs (the server is imported when the command runs)", () => {
    const probe = join(mkdtempSync(join(tmpdir(), "specter2-web-help-")), "loaded.js");
    writeFileSync(probe, `process.on("exit", () => process.stderr.write("LOADED " + JSON.stringify(Object.keys(require.cache))));`);
    const r = spawnSync(process.execPath, ["--require", probe, BIN, "web", "--help"], { encoding: "utf8" });
    expect(r.status).toBe(0);
    for (const option of ["--model", "--port", "--host"]) expect(r.stdout).toContain(option);
    const loaded = JSON.parse(r.stderr.slice(r.stderr.indexOf("LOADED ") + 7)) as string[];
    expect(loaded.length).toBeGreaterThan(10);
    expect(loaded.filter((m) => m.includes("@tensorflow") || m.endsWith("webServer.js"))).toEqual([]);
  });
});
