// The CLI as a user runs it: the built binary (dist/src/cli/main.js, from `npm run build` or `npx tsc -p
// tsconfig.json`), each command in a process of its own, `serve` on a free port of 127.0.0.1. The reliability
// attacks (test/reliability/attacks/), test/native/failedLoad.test.ts and benchmarks/serve.ts use it. A binary older
// than its sources would test or measure old code: the first process started here checks that it is not.
import type { ChildProcess } from "node:child_process";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";

export const ROOT = join(__dirname, "..", "..");
export const CLI_BIN = join(ROOT, "dist", "src", "cli", "main.js");
/** The demo model and the example papers the README's commands use. */
export const DEMO_MODEL = join(ROOT, "weights", "specter2-tiny");
export const PAPERS_FILE = join(ROOT, "examples", "papers.jsonl");

/** The CLI's sources (src/ but the browser entry src/web, and convert/) that dist/ lacks or is older than. */
export function staleSources(): string[] {
  return [join(ROOT, "src"), join(ROOT, "convert")].flatMap(sourcesIn).filter((path) => {
    const js = join(ROOT, "dist", relative(ROOT, path)).replace(/\.ts$/, ".js");
    return !existsSync(js) || statSync(js).mtimeMs < statSync(path).mtimeMs;
  });
}

function sourcesIn(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return path === join(ROOT, "src", "web") ? [] : sourcesIn(path);
    return e.name.endsWith(".ts") && !e.name.endsWith(".d.ts") ? [path] : [];
  });
}

/** Throws, saying how to build it, unless dist/'s CLI exists and is newer than every one of its sources. */
export function requireBuiltCli(): void {
  if (!existsSync(CLI_BIN)) throw new Error(`${relative(ROOT, CLI_BIN)} is missing: build it first (npm run build)`);
  const stale = staleSources();
  if (stale.length > 0) {
    const named = stale.slice(0, 3).map((f) => relative(ROOT, f));
    throw new Error(`dist/ is older than ${named.join(", ")}${stale.length > 3 ? ` and ${stale.length - 3} more` : ""}: rebuild it (npm run build)`);
  }
}

/** Every child started here, so that a test can leave none behind (killChildren). */
const children = new Set<ChildProcess>();

export function killChildren(): void {
  for (const c of children) c.kill("SIGKILL");
}

let scratch: string | undefined;
/** A directory for what the helpers write: the peak-RSS probe and each process's figure. */
function scratchDir(): string {
  if (scratch === undefined) {
    const dir = mkdtempSync(join(tmpdir(), "specter2-cli-"));
    process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
    scratch = dir;
  }
  return scratch;
}

let probe: string | undefined;
/** A module preloaded into every CLI process (--require): on exit it writes its peak RSS (KiB) into $SPECTER2_PEAK_RSS_FILE. */
function rssProbe(): string {
  if (probe === undefined) {
    probe = join(scratchDir(), "rss-probe.js");
    writeFileSync(probe, `process.on("exit", () => { try { require("node:fs").writeFileSync(process.env.SPECTER2_PEAK_RSS_FILE, String(process.resourceUsage().maxRSS)); } catch {} });\n`);
  }
  return probe;
}

let processes = 0;
let checked = false;

/** `env`: variables set (undefined: unset) over this process's environment. */
function startCli(args: string[], cwd: string, env: Record<string, string | undefined> = {}): { child: ChildProcess; rssFile: string } {
  if (!checked) requireBuiltCli();
  checked = true;
  const rssFile = join(scratchDir(), `rss-${processes++}`);
  const child = spawn(process.execPath, ["--require", rssProbe(), CLI_BIN, ...args], {
    cwd,
    stdio: ["ignore", "pipe", "pipe"],
    env: Object.fromEntries(Object.entries({ ...process.env, ...env, SPECTER2_PEAK_RSS_FILE: rssFile }).filter(([, v]) => v !== undefined)),
  });
  children.add(child);
  child.once("exit", () => children.delete(child));
  return { child, rssFile };
}

export interface CliRun {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
  /** Peak resident set of the process, MiB (undefined: it died before it could say). */
  peakMiB?: number;
  /** It was killed after `timeoutMs`. */
  timedOut: boolean;
  /** It logged "ready" (a serve that should not have started): it was then sent SIGTERM. */
  ready: boolean;
}

/** Runs the CLI to its end (killed after `timeoutMs`); a `serve` that gets ready is sent SIGTERM. */
export function runCli(
  args: string[],
  { cwd = scratchDir(), timeoutMs = 30_000, env = {} }: { cwd?: string; timeoutMs?: number; env?: Record<string, string | undefined> } = {},
): Promise<CliRun> {
  const t0 = performance.now();
  const { child, rssFile } = startCli(args, cwd, env);
  let stdout = "";
  let stderr = "";
  const state = { timedOut: false, ready: false };
  const timer = setTimeout(() => {
    state.timedOut = true;
    child.kill("SIGKILL");
  }, timeoutMs);
  child.stdout!.setEncoding("utf8").on("data", (d: string) => {
    stdout += d;
    if (!state.ready && stdout.includes('"msg":"ready"')) {
      state.ready = true;
      child.kill("SIGTERM");
    }
  });
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (status, signal) => {
      clearTimeout(timer);
      const kib = existsSync(rssFile) ? Number(readFileSync(rssFile, "utf8")) : NaN;
      resolve({ status, signal, stdout, stderr, ms: performance.now() - t0, peakMiB: Number.isFinite(kib) ? kib / 1024 : undefined, ...state });
    });
  });
}

export interface Served {
  url: string;
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The server's own log lines and stderr (request logs left out: an attack makes thousands). */
  logs: string[];
}

/**
 * `specter2 serve` with these options (the demo model unless they name one; everything else at its default)
 * on a free port of 127.0.0.1, once it logs "ready".
 */
export function startServe(options: string[], { timeoutMs = 30_000, env = {} }: { timeoutMs?: number; env?: Record<string, string | undefined> } = {}): Promise<Served> {
  const model = options.includes("--model") ? [] : ["--model", DEMO_MODEL];
  const { child } = startCli(["serve", ...model, "--host", "127.0.0.1", "--port", "0", "--log-level", "info", ...options], scratchDir(), env);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once("exit", (code, signal) => r({ code, signal })));
  const logs: string[] = [];
  let url = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`serve not ready within ${timeoutMs} ms:\n${logs.join("\n")}`));
    }, timeoutMs);
    let pending = "";
    child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
      const lines = (pending + chunk).split("\n");
      pending = lines.pop()!;
      for (const line of lines) {
        if (!line.includes('"reqId"')) logs.push(line);
        url ||= /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(line)?.[1] ?? "";
        if (line.includes('"msg":"ready"')) {
          clearTimeout(timer);
          resolve({ url, child, exited, logs });
        }
      }
    });
    child.stderr!.setEncoding("utf8").on("data", (d: string) => logs.push(d));
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`serve exited (${code ?? signal}) before ready:\n${logs.join("\n")}`));
    });
  });
}

/** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
export async function stopServe(s: Served, graceMs = 40_000): Promise<void> {
  if (s.child.exitCode !== null || s.child.signalCode !== null) return;
  s.child.kill("SIGTERM");
  const timer = setTimeout(() => s.child.kill("SIGKILL"), graceMs);
  await s.exited;
  clearTimeout(timer);
}

/** Runs `body` against a fresh `specter2 serve` with these options, stopped afterwards whatever happens. */
export async function withServe<T>(options: string[], body: (s: Served) => Promise<T>): Promise<T> {
  const s = await startServe(options);
  try {
    return await body(s);
  } finally {
    await stopServe(s);
  }
}
