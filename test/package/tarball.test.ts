// The package as users install it: `npm pack` of a clean copy of this tree (its prepare script builds
// dist/), then `npm install <tarball>` with production dependencies only into an empty project, and there
// everything a user reaches: the `specter2` binary (help, embed, serve), `require` and `import` of the
// four entries (one copy of the module state between them), the tokenizer entry free of Node modules, LangChain's
// Embeddings (`specter2-tfjs/langchain`, with @langchain/core and LangChain's in-memory vector store installed), the
// browser entry (dist/web: its `browser` condition through a bundler and TypeScript, `specter2 web`),
// and the README's Library example type-checked by this repository's TypeScript (5.x) and by the current
// release (7.x), without skipLibCheck where that passes.
//
// Nothing here touches the repository's own dist/ (other tests run its CLI): the build happens in the copy.
// Bounded: every step has its own timeout, the whole file stays within a few minutes on 2 cores (the
// install builds the native addon where a compiler and oneDNN are present: the package's install script).
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { isBuiltin } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { FakeHub, SPECTER2_FIXTURE_REPOS } from "../helpers/fakeHub";

const ROOT = resolve(__dirname, "..", "..");
const PKG = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { name: string; version: string };
const PAPERS = readFileSync(join(ROOT, "examples", "papers.jsonl"), "utf8")
  .split("\n")
  .filter((l) => l.trim() !== "");
const HIDDEN = (JSON.parse(readFileSync(join(ROOT, "weights", "specter2-tiny", "config.json"), "utf8")) as { hidden_size: number }).hidden_size;
/** Whether the published declarations (from any of the three entries) import a module that imports
 *  @tensorflow/tfjs-core (`node scripts/public-types.mjs` lists the chains). While they do, a user's tsc
 *  without skipLibCheck fails inside tfjs-core's declarations: TS 5.x on `Long` (unless "long" is in its
 *  `types`), TS 7 also on @webgpu/types against its own lib.dom. Then the TypeScript checks accept exactly
 *  those errors and check again with skipLibCheck; once false, they must pass without it. */
const TFJS_DECLARATIONS_REACHED = false;
/** The TypeScript release line checked besides the repository's own (5.x): `npm view typescript version` said 7.0.2. */
const CURRENT_TYPESCRIPT = "typescript@^7.0.2";

const TMP = mkdtempSync(join(tmpdir(), "specter2-package-"));
const CLONE = join(TMP, "clone");
const APP = join(TMP, "app");
const TS7 = join(TMP, "ts7");
const INSTALLED = join(APP, "node_modules", PKG.name);

interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** The environment for nested npm/node runs: without the npm_* variables of the `npm test` around us
 *  (they name this package, its scripts and its config), but with the user's cache and registry. */
function cleanEnv(): NodeJS.ProcessEnv {
  const keep = new Set(["npm_config_cache", "npm_config_registry", "npm_config_userconfig", "npm_config_globalconfig"]);
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k) || keep.has(k.toLowerCase())) env[k] = v;
  delete env.INIT_CWD;
  delete env.NODE_OPTIONS;
  return { ...env, NO_UPDATE_NOTIFIER: "1", npm_config_update_notifier: "false", npm_config_fund: "false", npm_config_audit: "false" };
}

function run(cmd: string, args: string[], cwd: string, timeoutMs: number, env: NodeJS.ProcessEnv = cleanEnv()): Promise<Result> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      if (signal === "SIGKILL") reject(new Error(`${cmd} ${args.join(" ")} ran past ${timeoutMs} ms:\n${stdout}\n${stderr}`));
      else resolvePromise({ code, signal, stdout, stderr });
    });
  });
}

async function ok(cmd: string, args: string[], cwd: string, timeoutMs: number): Promise<Result> {
  const r = await run(cmd, args, cwd, timeoutMs);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${r.code} in ${cwd}:\n${r.stdout.slice(-4000)}\n${r.stderr.slice(-4000)}`);
  return r;
}

/** The tree as a clone has it: tracked files and untracked ones git does not ignore (no dist/, no node_modules/). */
function copySources(to: string): void {
  const listed = (() => {
    try {
      const out = execFileSync("git", ["ls-files", "-z", "-co", "--exclude-standard"], { cwd: ROOT, encoding: "utf8", maxBuffer: 64 << 20, stdio: ["ignore", "pipe", "ignore"] });
      return out.split("\0").filter(Boolean);
    } catch {
      return null; // not a git checkout: copy everything but what a build or install makes
    }
  })();
  if (listed) {
    for (const rel of listed) {
      const from = join(ROOT, rel);
      if (!existsSync(from) || !statSync(from).isFile()) continue; // deleted in the work tree
      mkdirSync(dirname(join(to, rel)), { recursive: true });
      cpSync(from, join(to, rel));
    }
  } else {
    const skip = new Set(["node_modules", "dist", ".git", "native/build", "tmp", "scratch", "benchmarks/.cache"]);
    cpSync(ROOT, to, { recursive: true, filter: (src) => !skip.has(relative(ROOT, src).split("\\").join("/")) && !src.endsWith(".tgz") });
  }
}

/** The README's Library example: the first ```ts block under "## Library". */
const FALLBACK_EXAMPLE = `import { Specter2, Specter2Error } from "specter2-tfjs";
const model = await Specter2.load("weights/specter2-tiny"); // backend "auto"; workers: 1 on native, one per core on wasm; 0 = in-process
const [paper, query] = await model.embed([{ title: "BERT", abstract: "We introduce a new language representation model." }, "language models for science"], { adapter: "proximity" });
console.log(model.defaultAdapter, model.adapterNames, model.backend.name, model.workers, paper.length);
await model.close();
`;
function readmeLibraryExample(): { code: string; fromReadme: boolean } {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const section = /^## Library[ \t]*\n([\s\S]*?)(?=^## |(?![\s\S]))/m.exec(readme)?.[1];
  const block = section && /^```ts[ \t]*\n([\s\S]*?)^```/m.exec(section)?.[1];
  return block ? { code: block, fromReadme: true } : { code: FALLBACK_EXAMPLE, fromReadme: false };
}

let tarball = "";
let tarballFiles: string[] = [];
let installLog = "";
let ts7: Promise<string | Error>;

beforeAll(async () => {
  // The current TypeScript comes from the registry; fetched while the package is built and installed.
  mkdirSync(TS7, { recursive: true });
  writeFileSync(join(TS7, "package.json"), JSON.stringify({ name: "ts7", private: true }));
  ts7 = run("npm", ["install", "--no-audit", "--no-fund", "--no-save", CURRENT_TYPESCRIPT], TS7, 150_000).then(
    (r) => (r.code === 0 ? join(TS7, "node_modules", "typescript", "bin", "tsc") : new Error(`npm install ${CURRENT_TYPESCRIPT} exited ${r.code}:\n${r.stderr.slice(-2000)}`)),
    (e: Error) => e,
  );

  copySources(CLONE);
  symlinkSync(join(ROOT, "node_modules"), join(CLONE, "node_modules"), "dir");
  // npm pack runs prepack (clean dist/) and prepare (npm run build: tsc -p tsconfig.build.json + the ES module wrappers).
  await ok("npm", ["pack", "--pack-destination", TMP], CLONE, 120_000);
  const tgz = readdirSync(TMP).filter((f) => f.endsWith(".tgz"));
  expect(tgz).toEqual([`${PKG.name}-${PKG.version}.tgz`]);
  tarball = join(TMP, tgz[0]);
  tarballFiles = (await ok("tar", ["-tzf", tarball], TMP, 30_000)).stdout
    .split("\n")
    .filter(Boolean)
    .map((f) => f.replace(/^package\//, ""));

  mkdirSync(join(APP, "weights"), { recursive: true });
  // allowScripts: the install script runs also where npm's allowScripts policy blocks dependencies'
  // install scripts (npm 11 runs them and warns; the field is ignored by older npm).
  writeFileSync(join(APP, "package.json"), JSON.stringify({ name: "app", version: "1.0.0", private: true, type: "module", allowScripts: { [PKG.name]: true } }, null, 2));
  cpSync(join(ROOT, "weights", "specter2-tiny"), join(APP, "weights", "specter2-tiny"), { recursive: true });
  cpSync(join(ROOT, "examples", "papers.jsonl"), join(APP, "papers.jsonl"));
  // @types/node as a TypeScript user on Node has it (the README example calls console.log); the version
  // this repository uses, so npm's cache has it.
  const version = (pkg: string) => (JSON.parse(readFileSync(join(ROOT, "node_modules", pkg, "package.json"), "utf8")) as { version: string }).version;
  // A LangChain.js user has @langchain/core (our optional peer) and a vector store: the versions this repository
  // tests with, so npm's cache has them.
  const langchain = ["@langchain/core", "@langchain/classic"].map((p) => `${p}@${version(p)}`);
  // --foreground-scripts shows the install script's line (npm hides it otherwise).
  const install = await ok(
    "npm",
    ["install", "--omit=dev", "--no-audit", "--no-fund", "--prefer-offline", "--foreground-scripts", tarball, `@types/node@${version("@types/node")}`, ...langchain],
    APP,
    180_000,
  );
  installLog = install.stdout + install.stderr;
}, 330_000);

afterAll(() => {
  // SPECTER2_KEEP_PACKAGE_TMP=1 keeps the copy, the tarball and the project, to look into a failure.
  if (process.env.SPECTER2_KEEP_PACKAGE_TMP) console.log(`kept ${TMP}`);
  else rmSync(TMP, { recursive: true, force: true });
});

describe("the tarball", () => {
  it("holds the built library, CLI, service and converter, the ES module wrappers, the native sources and LICENSE; no sources, maps or tests", () => {
    for (const f of [
      "package.json",
      "LICENSE",
      "README.md",
      "weights/README.md",
      "dist/src/index.js",
      "dist/src/index.d.ts",
      "dist/src/cli/main.js",
      "dist/src/serve/index.js",
      "dist/src/tokenizer/index.js",
      "dist/src/langchain/index.js",
      "dist/src/langchain/index.d.ts",
      "dist/convert/convert.js",
      "dist/esm/index.mjs",
      "dist/esm/serve.mjs",
      "dist/esm/tokenizer.mjs",
      "dist/esm/langchain.mjs",
      "dist/web/specter2.js",
      "dist/web/specter2.worker.js",
      "dist/web/tfjs-backend-wasm-threaded-simd.wasm",
      "dist/web/esm/index.js",
      "dist/web/esm/specter2.worker.js",
      "dist/web/types/src/web/index.d.ts",
      "dist/web/demo/index.html",
      "dist/web/demo/app.js",
      "native/binding.gyp",
      "native/install.js",
    ])
      expect(tarballFiles).toContain(f);
    expect(tarballFiles.some((f) => f.startsWith("native/src/"))).toBe(true);
    const unwanted = tarballFiles.filter(
      (f) =>
        /\.map$|\.tsbuildinfo$|^dist\/(test|benchmarks)\/|^(src|test|benchmarks|convert|scripts|examples)\/|\.tgz$|^native\/build\/|^weights\/specter2-tiny\//.test(f) ||
        (/\.ts$/.test(f) && !/\.d\.ts$/.test(f)),
    );
    expect(unwanted).toEqual([]);
    expect(readFileSync(join(INSTALLED, "LICENSE"), "utf8")).toMatch(/Apache License\s+Version 2\.0, January 2004/);
  });

  it("every relative require() of the built code resolves inside the package", () => {
    const dist = join(INSTALLED, "dist");
    const missing: string[] = [];
    const files: string[] = [];
    const walk = (d: string): void => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        if (e.isDirectory()) walk(join(d, e.name));
        else if (/\.(c?js|mjs)$/.test(e.name)) files.push(join(d, e.name));
      }
    };
    walk(dist);
    for (const file of files) {
      const text = readFileSync(file, "utf8");
      for (const m of text.matchAll(/(?:require\(|from\s+|import\()\s*"(\.{1,2}\/[^"]+)"/g)) {
        const target = resolve(dirname(file), m[1]);
        if (![target, `${target}.js`, join(target, "index.js")].some((t) => existsSync(t) && statSync(t).isFile())) missing.push(`${relative(INSTALLED, file)} → ${m[1]}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it("installs with production dependencies only (the install script says in one line whether it built the native addon)", () => {
    expect(existsSync(join(INSTALLED, "package.json"))).toBe(true);
    expect(existsSync(join(APP, "node_modules", "typescript"))).toBe(false);
    expect(existsSync(join(APP, "node_modules", "jest"))).toBe(false);
    expect(installLog).toMatch(/specter2-tfjs: native backend (built|not built)/);
  });
});

describe("the specter2 binary", () => {
  // --yes=false: npx must find the installed binary, never fetch a package of that name.
  it("npx specter2 --help: exit 0, lists the commands", async () => {
    const r = await run("npx", ["--yes=false", "specter2", "--help"], APP, 60_000);
    expect(r.stderr).not.toMatch(/npm (error|ERR)/);
    expect(r.code).toBe(0);
    for (const command of ["embed", "serve", "convert", "download", "info", "tokenize"]) expect(r.stdout).toMatch(new RegExp(`specter2 ${command}\\b`));
  }, 90_000);

  it("npx specter2 embed: one line per paper, each of the model's width", async () => {
    const r = await run("npx", ["--yes=false", "specter2", "embed", "--model", "weights/specter2-tiny", "--input", "papers.jsonl", "--output", "out.jsonl"], APP, 120_000);
    if (r.code !== 0) throw new Error(`exit ${r.code}:\n${r.stdout}\n${r.stderr}`);
    const lines = readFileSync(join(APP, "out.jsonl"), "utf8").split("\n").filter(Boolean);
    expect(lines).toHaveLength(PAPERS.length);
    for (const line of lines) {
      const { embedding } = JSON.parse(line) as { embedding: number[] };
      expect(embedding).toHaveLength(HIDDEN);
      expect(embedding.every(Number.isFinite)).toBe(true);
    }
  }, 150_000);

  it("npx specter2 embed --model allenai/specter2 on a fresh machine that reaches the Hub (the stand-in, as HF_ENDPOINT)", async () => {
    const hub = await FakeHub.start({ repos: SPECTER2_FIXTURE_REPOS });
    const home = mkdtempSync(join(tmpdir(), "specter2-package-hf-"));
    try {
      const env = { ...cleanEnv(), HF_HOME: home, HF_ENDPOINT: hub.endpoint };
      const r = await run("npx", ["--yes=false", "specter2", "embed", "--model", "allenai/specter2", "--input", "papers.jsonl", "--output", "by-name.jsonl"], APP, 120_000, env);
      if (r.code !== 0) throw new Error(`exit ${r.code}:\n${r.stdout}\n${r.stderr}`);
      const lines = readFileSync(join(APP, "by-name.jsonl"), "utf8").split("\n").filter(Boolean);
      expect(lines).toHaveLength(PAPERS.length);
      expect(hub.reposAsked()).toEqual(["allenai/specter2_base", "allenai/specter2", "allenai/specter2_adhoc_query", "allenai/specter2_classification", "allenai/specter2_regression"]);
      expect(existsSync(join(home, "hub", "models--allenai--specter2_base", "refs", "main"))).toBe(true);
    } finally {
      await hub.close();
      rmSync(home, { recursive: true, force: true });
    }
  }, 150_000);

  it("specter2 serve --port 0: GET /health answers 200, SIGTERM exits 0", async () => {
    // The binary npx runs (node_modules/.bin/specter2), started directly so the signal reaches it.
    const child: ChildProcess = spawn(join(APP, "node_modules", ".bin", "specter2"), ["serve", "--model", "weights/specter2-tiny", "--port", "0"], {
      cwd: APP,
      env: cleanEnv(),
      stdio: ["ignore", "pipe", "pipe"],
    });
    const logs: string[] = [];
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    try {
      const url = await new Promise<string>((resolveUrl, reject) => {
        let address = "";
        const timer = setTimeout(() => reject(new Error(`not ready in 90 s:\n${logs.join("\n")}`)), 90_000);
        child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
          for (const line of chunk.split("\n").filter(Boolean)) {
            logs.push(line);
            address ||= /listening (?:at|on) (https?:\/\/[^\s"]+)/i.exec(line)?.[1] ?? "";
            if (/"msg":"(ready|listening)"/.test(line) && address) {
              clearTimeout(timer);
              resolveUrl(address);
            }
          }
        });
        child.stderr!.setEncoding("utf8").on("data", (chunk: string) => logs.push(chunk));
        child.once("exit", (code) => {
          clearTimeout(timer);
          reject(new Error(`serve exited ${code} before it was ready:\n${logs.join("\n")}`));
        });
      });
      const health = await fetch(`${url}/health`);
      expect(health.status).toBe(200);
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
  }, 150_000);
});

describe("the library entries", () => {
  const EMBED = (load: string) => `
const model = await Specter2.load("weights/specter2-tiny");
const [paper, query] = await model.embed([{ title: "BERT", abstract: "We introduce a new language representation model." }, "language models for science"], { adapter: "proximity" });
const out = { paper: paper.length, query: query.length, hidden: model.hiddenSize, finite: [...paper, ...query].every(Number.isFinite), backend: model.backend.name, adapters: model.adapterNames, defaultAdapter: model.defaultAdapter, ${load} };
await model.close();
console.log(JSON.stringify(out));
`;

  function check(r: Result): Record<string, unknown> {
    if (r.code !== 0) throw new Error(`exit ${r.code}:\n${r.stdout}\n${r.stderr}`);
    const out = JSON.parse(r.stdout.trim().split("\n").pop()!) as Record<string, unknown>;
    expect(out).toMatchObject({ paper: HIDDEN, query: HIDDEN, hidden: HIDDEN, finite: true });
    expect(out.adapters).toEqual(expect.arrayContaining(["proximity", "adhoc_query"]));
    return out;
  }

  it('CommonJS: require("specter2-tfjs") loads the tiny model and embeds', async () => {
    writeFileSync(
      join(APP, "check.cjs"),
      `const { Specter2 } = require("specter2-tfjs");\n(async () => {${EMBED('entry: "cjs"')}})().catch((e) => { console.error(e); process.exit(1); });\n`,
    );
    expect(check(await run(process.execPath, ["check.cjs"], APP, 120_000)).entry).toBe("cjs");
  }, 150_000);

  it('ES module: import { Specter2 } from "specter2-tfjs" loads the tiny model and embeds', async () => {
    writeFileSync(join(APP, "check.mjs"), `import { Specter2 } from "specter2-tfjs";\n${EMBED('entry: "esm"')}`);
    expect(check(await run(process.execPath, ["check.mjs"], APP, 120_000)).entry).toBe("esm");
  }, 150_000);

  it("VERSION, from require and from import, is the package's version", async () => {
    writeFileSync(
      join(APP, "version.mjs"),
      `import { VERSION } from "specter2-tfjs";\nimport { createRequire } from "node:module";\nconsole.log(JSON.stringify([VERSION, createRequire(import.meta.url)("specter2-tfjs").VERSION]));\n`,
    );
    const r = await ok(process.execPath, ["version.mjs"], APP, 60_000);
    expect(JSON.parse(r.stdout)).toEqual([PKG.version, PKG.version]);
  }, 90_000);

  it("import and require of each entry give the very same objects (one copy of the module state)", async () => {
    const entries = [PKG.name, `${PKG.name}/serve`, `${PKG.name}/tokenizer`, `${PKG.name}/langchain`];
    writeFileSync(
      join(APP, "same.mjs"),
      `import { createRequire } from "node:module";
const require = createRequire(import.meta.url);
const out = {};
for (const entry of ${JSON.stringify(entries)}) {
  const esm = await import(entry);
  const cjs = require(entry);
  const names = Object.keys(esm).filter((k) => k !== "default");
  out[entry] = { names: names.length, cjsNames: Object.keys(cjs).length, different: names.filter((k) => esm[k] !== cjs[k]), missing: Object.keys(cjs).filter((k) => !(k in esm)), defaultIsCjs: esm.default === cjs };
}
console.log(JSON.stringify(out));
`,
    );
    const out = JSON.parse((await ok(process.execPath, ["same.mjs"], APP, 60_000)).stdout) as Record<
      string,
      { names: number; different: string[]; missing: string[]; defaultIsCjs: boolean }
    >;
    for (const entry of entries) {
      expect(out[entry].names).toBeGreaterThan(0);
      expect(out[entry]).toMatchObject({ different: [], missing: [], defaultIsCjs: true });
    }
  }, 90_000);

  it('import of "specter2-tfjs/tokenizer" and "specter2-tfjs/serve": BertTokenizer and createService', async () => {
    writeFileSync(
      join(APP, "entries.mjs"),
      `import { BertTokenizer, formatPaper } from "specter2-tfjs/tokenizer";\nimport { createService } from "specter2-tfjs/serve";\nconsole.log(JSON.stringify([typeof BertTokenizer, typeof formatPaper, typeof createService]));\n`,
    );
    expect(JSON.parse((await ok(process.execPath, ["entries.mjs"], APP, 60_000)).stdout)).toEqual(["function", "function", "function"]);
  }, 90_000);

  it("the tokenizer entry imports no Node module (it is the platform-neutral one)", () => {
    const seen = new Set<string>();
    const nodeModules: string[] = [];
    const visit = (file: string): void => {
      if (seen.has(file)) return;
      seen.add(file);
      for (const m of readFileSync(file, "utf8").matchAll(/require\("([^"]+)"\)/g)) {
        const spec = m[1];
        if (spec.startsWith(".")) {
          const target = resolve(dirname(file), spec);
          visit(existsSync(`${target}.js`) ? `${target}.js` : existsSync(target) && statSync(target).isFile() ? target : join(target, "index.js"));
        } else if (isBuiltin(spec)) nodeModules.push(`${relative(INSTALLED, file)} requires ${spec}`);
        else nodeModules.push(`${relative(INSTALLED, file)} requires the package ${spec}`);
      }
    };
    visit(join(INSTALLED, "dist", "src", "tokenizer", "index.js"));
    expect(nodeModules).toEqual([]);
  });
});

describe("specter2-tfjs/langchain", () => {
  it("Specter2Embeddings in LangChain's in-memory store: papers with proximity, the query with adhoc_query, ranked as the library ranks them", async () => {
    writeFileSync(
      join(APP, "langchain.mjs"),
      `import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { MemoryVectorStore } from "@langchain/classic/vectorstores/memory";
import { Specter2Embeddings } from "specter2-tfjs/langchain";
import { Specter2 } from "specter2-tfjs";
const papers = readFileSync("papers.jsonl", "utf8").split("\\n").filter(Boolean).map((l) => JSON.parse(l));
const texts = papers.map((p) => p.title + " " + p.abstract);
const query = "language models for science";
const embeddings = new Specter2Embeddings({ model: "weights/specter2-tiny", loadOptions: { workers: 0 } });
const store = await MemoryVectorStore.fromTexts(texts, papers.map((p) => ({ id: p.paper_id })), embeddings);
const hits = (await store.similaritySearch(query, 5)).map((d) => d.metadata.id);
await embeddings.close();
const model = await Specter2.load("weights/specter2-tiny", { workers: 0 });
const docs = await model.embed(texts, { adapter: "proximity" });
const [q] = await model.embed([query], { adapter: "adhoc_query" });
await model.close();
const cos = (a, b) => { let d = 0, x = 0, y = 0; for (let i = 0; i < a.length; i++) { d += a[i] * b[i]; x += a[i] * a[i]; y += b[i] * b[i]; } return d / Math.sqrt(x * y); };
const expected = docs.map((v, i) => ({ id: papers[i].paper_id, s: cos(q, v) })).sort((a, b) => b.s - a.s).slice(0, 5).map((h) => h.id);
const cjs = createRequire(import.meta.url)("specter2-tfjs/langchain");
console.log(JSON.stringify({ hits, expected, cjs: typeof cjs.Specter2Embeddings, dimensions: docs[0].length }));
`,
    );
    const out = JSON.parse((await ok(process.execPath, ["langchain.mjs"], APP, 120_000)).stdout.trim().split("\n").pop()!) as {
      hits: string[];
      expected: string[];
      cjs: string;
      dimensions: number;
    };
    expect(out.hits).toHaveLength(5);
    expect(out.hits).toEqual(out.expected);
    expect(out).toMatchObject({ cjs: "function", dimensions: HIDDEN });
  }, 150_000);
});

describe("the browser entry", () => {
  it('a bundler for the browser resolves "specter2-tfjs" to dist/web/esm (tfjs from the app\'s node_modules, no Node module)', async () => {
    const { build } = await import("esbuild");
    const dir = join(APP, "browser-bundle");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "entry.js"), `import { Specter2, memory, WEB_BACKENDS } from "specter2-tfjs";\nconsole.log(typeof Specter2.load, typeof memory, WEB_BACKENDS);\n`);
    const result = await build({
      absWorkingDir: APP,
      entryPoints: [join(dir, "entry.js")],
      outfile: join(dir, "out.js"),
      bundle: true,
      platform: "browser",
      format: "esm",
      metafile: true,
      logLevel: "silent",
    });
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs).toContain(`node_modules/${PKG.name}/dist/web/esm/index.js`);
    expect(inputs.filter((f) => f.includes(`${PKG.name}/dist/src/`) || f.startsWith("node:"))).toEqual([]);
    expect(inputs.some((f) => f.startsWith("node_modules/@tensorflow/tfjs-core/"))).toBe(true);
    expect(inputs.some((f) => f.startsWith("node_modules/@tensorflow/tfjs-backend-webgpu/"))).toBe(true);
  }, 120_000);

  it("its declarations: a TypeScript project for the browser (bundler resolution, the browser condition) gets the web API", async () => {
    const dir = join(APP, "browser-types");
    mkdirSync(dir, { recursive: true });
    // worker and the "webgpu" backend exist only in the browser entry's options: this fails against the Node types.
    writeFileSync(
      join(dir, "check.ts"),
      `import { Specter2, memory, type WebLoadOptions } from "specter2-tfjs";\nconst options: WebLoadOptions = { backend: "webgpu", worker: true, onProgress: (p) => console.log(p.loaded, p.total) };\nexport const used = [Specter2.load("/model/", options), memory().numTensors];\n`,
    );
    writeFileSync(
      join(dir, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "es2022",
          module: "esnext",
          moduleResolution: "bundler",
          customConditions: ["browser"],
          lib: ["es2022", "dom"],
          types: [],
          strict: true,
          // Our browser declarations reach no other package's (src/web/registerBackends.ts), so tfjs-core's, which fail
          // this check, are not read.
          skipLibCheck: false,
          noEmit: true,
        },
        files: ["check.ts"],
      }),
    );
    const r = await run(process.execPath, [join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.json"], dir, 120_000);
    expect(`${r.stdout}${r.stderr}`).toBe("");
    expect(r.code).toBe(0);
  }, 150_000);

  it("specter2 web serves the demo page and the bundle from the installed package", async () => {
    const child: ChildProcess = spawn(join(APP, "node_modules", ".bin", "specter2"), ["web", "--model", "weights/specter2-tiny", "--port", "0"], {
      cwd: APP,
      env: cleanEnv(),
      stdio: ["ignore", "pipe", "pipe"],
    });
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    try {
      const demo = await new Promise<string>((resolveUrl, reject) => {
        let out = "";
        const timer = setTimeout(() => reject(new Error(`no URL in 30 s:\n${out}`)), 30_000);
        child.stdout!.setEncoding("utf8").on("data", (d: string) => {
          out += d;
          const url = /the demo is at (http:\/\/\S+\/demo\/)/.exec(out)?.[1];
          if (url) {
            clearTimeout(timer);
            resolveUrl(url);
          }
        });
        child.stderr!.setEncoding("utf8").on("data", (d: string) => (out += d));
      });
      for (const url of [demo, new URL("../specter2.js", demo).href, new URL("../model/manifest.json", demo).href]) {
        const response = await fetch(url);
        expect([url, response.status, response.headers.get("cross-origin-embedder-policy")]).toEqual([url, 200, "require-corp"]);
      }
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
  }, 60_000);
});

describe("TypeScript users", () => {
  const example = readmeLibraryExample();
  /** Declarations of other packages reached through ours (tfjs-core's), and TypeScript's lib.dom that
   *  @webgpu/types (referenced by tfjs-core) conflicts with: errors there are not in our declarations. */
  const IN_THEIR_DECLARATIONS =
    /(^|[\\/])(node_modules[\\/]@tensorflow[\\/]|node_modules[\\/]@webgpu[\\/]types[\\/]|node_modules[\\/](@typescript[\\/]typescript-[^\\/]+|typescript)[\\/]lib[\\/]lib\.[^\\/]*\.d\.ts)/;
  const ENTRIES = `import { Specter2, VERSION, type EmbedOptions } from "specter2-tfjs";
import { createService } from "specter2-tfjs/serve";
import { BertTokenizer, formatPaper } from "specter2-tfjs/tokenizer";
const options: EmbedOptions = { adapter: "proximity" };
export const used = [Specter2, VERSION, options, createService, BertTokenizer, formatPaper];
`;

  /** Type-checks one file as a user compiling for Node does: Node's module resolution (so the `exports`
   *  map and the ES module entry), strict, console from @types/node. */
  async function typecheck(tsc: string, name: string, code: string, skipLibCheck: boolean): Promise<{ code: number | null; errors: string[] }> {
    const dir = join(APP, `${name}${skipLibCheck ? "-skiplibcheck" : ""}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "check.ts"), code);
    writeFileSync(
      join(dir, "tsconfig.json"),
      JSON.stringify(
        { compilerOptions: { target: "es2022", module: "nodenext", moduleResolution: "nodenext", strict: true, types: ["node"], skipLibCheck, noEmit: true }, files: ["check.ts"] },
        null,
        2,
      ),
    );
    const r = await run(process.execPath, [tsc, "-p", "tsconfig.json"], dir, 120_000);
    return { code: r.code, errors: `${r.stdout}${r.stderr}`.split("\n").filter((l) => /error TS\d+/.test(l)) };
  }

  /** Without skipLibCheck; where that fails only inside tfjs-core's (and @webgpu/types') declarations,
   *  again with skipLibCheck, which must pass: those errors are what the docs tell users to skip. */
  async function checks(tsc: string, name: string, code: string): Promise<void> {
    const strict = await typecheck(tsc, name, code, false);
    expect(strict.errors.filter((e) => !IN_THEIR_DECLARATIONS.test(e))).toEqual([]);
    if (strict.errors.length === 0) {
      expect(strict.code).toBe(0);
      // A ratchet: once our declarations stop reaching tfjs-core's, the check without skipLibCheck must keep passing.
      if (TFJS_DECLARATIONS_REACHED)
        throw new Error(`${name} passes without skipLibCheck: tfjs-core's declarations are no longer reached; set TFJS_DECLARATIONS_REACHED to false so this stays checked`);
      return;
    }
    if (!TFJS_DECLARATIONS_REACHED) throw new Error(`${name}: without skipLibCheck, errors in other packages' declarations:\n${strict.errors.join("\n")}`);
    const byFile = new Map<string, number>();
    for (const e of strict.errors) {
      const file = e.replace(/\(\d+,\d+\).*$/, "").replace(/^.*node_modules[\\/]/, "");
      byFile.set(file, (byFile.get(file) ?? 0) + 1);
    }
    console.warn(
      `${name}: without skipLibCheck, ${strict.errors.length} errors in declarations that ours reach (tfjs-core's): ${[...byFile].map(([f, n]) => `${f} ${n}`).join(", ")}; checked again with skipLibCheck`,
    );
    const loose = await typecheck(tsc, name, code, true);
    expect(loose.errors).toEqual([]);
    expect(loose.code).toBe(0);
  }

  const repoTsc = join(ROOT, "node_modules", "typescript", "bin", "tsc");
  async function currentTsc(): Promise<string | null> {
    const tsc = await ts7;
    if (!(tsc instanceof Error)) return tsc;
    // The registry was not reachable: nothing to check this against here.
    console.warn(`skipped the ${CURRENT_TYPESCRIPT} check: ${tsc.message}`);
    return null;
  }

  it("the README's Library example is the one checked", () => {
    if (!example.fromReadme) console.warn('README.md has no ```ts block under "## Library": checked the fallback example instead');
    expect(example.code).toMatch(/from "specter2-tfjs"/);
  });

  it("the README's Library example, with this repository's TypeScript (5.x)", async () => {
    await checks(repoTsc, "readme-ts5", example.code);
  }, 240_000);

  it(`the README's Library example, with the current TypeScript (${CURRENT_TYPESCRIPT})`, async () => {
    const tsc = await currentTsc();
    if (tsc) await checks(tsc, "readme-ts7", example.code);
  }, 300_000);

  it("the langchain entry's declarations, with this repository's TypeScript (5.x): a Specter2Embeddings is LangChain's EmbeddingsInterface", async () => {
    const code = `import { Specter2Embeddings, type Specter2EmbeddingsParams } from "specter2-tfjs/langchain";
import type { EmbeddingsInterface } from "@langchain/core/embeddings";
const params: Specter2EmbeddingsParams = { model: "allenai/specter2", loadOptions: { dtype: "int8", revision: "main", workers: 0 }, batchSize: 16 };
export const embeddings: EmbeddingsInterface = new Specter2Embeddings(params);
`;
    // skipLibCheck: @langchain/core's own declarations are its to check; ours and the use of them are checked.
    const r = await typecheck(repoTsc, "langchain-ts5", code, true);
    expect(r.errors).toEqual([]);
    expect(r.code).toBe(0);
  }, 240_000);

  it("the three entries' declarations, with this repository's TypeScript (5.x)", async () => {
    await checks(repoTsc, "entries-ts5", ENTRIES);
  }, 240_000);

  it(`the three entries' declarations, with the current TypeScript (${CURRENT_TYPESCRIPT})`, async () => {
    const tsc = await currentTsc();
    if (tsc) await checks(tsc, "entries-ts7", ENTRIES);
  }, 300_000);
});
