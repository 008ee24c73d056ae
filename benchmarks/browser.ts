// The browser benchmark: papers/s in a page of headless Chromium per backend (wasm on one thread, wasm on tfjs'
// threads, a pool of Web Workers with one single-threaded wasm each, WebGL and WebGPU on SwiftShader) beside Node's
// wasm, wasm pool and native on the same token ids, and the time from load() to the first vector, cold and from the
// Cache API. Prints the machine, then markdown tables; writes nothing but benchmarks/.cache/browser-last.json.
//   npx ts-node --transpile-only benchmarks/browser.ts [--quick]
// The full run uses the full-size random model (benchmarks/fullModel.ts, built once) and takes about 10 minutes on 2
// cores; --quick a 2-layer model at BERT-base width (768/12/3072) and a minute or two: it checks that every path runs,
// and its figures are only a hint. Measure on an otherwise idle machine: the load average is printed for that.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg, totalmem } from "node:os";
import { extname, join } from "node:path";
import type { Browser, Page } from "puppeteer-core";
import { convertModel } from "../convert/convert";
import { demoVocabulary } from "../convert/makeDemoModel";
import { SPECTER2_ADAPTERS, writeRandomHubModel } from "../convert/randomModel";
import { seededRandom } from "../convert/seededRandom";
import { nativeAddonBuilt } from "../src/backend/native/addon";
import { cpuIsa, formatIsa } from "../src/backend/native/precision";
import type { BertConfig } from "../src/model/config";
import type { TestSite } from "../test/helpers/browser";
import { call, launchChromium, ROOT, startTestSite } from "../test/helpers/browser";
import type { EngineReport, EngineSpec } from "./engine";
import { ADAPTER } from "./engines";
import { flopsOf, flopsPerSequence } from "./flops";
import { CACHE, ensureFullModel, FULL_CONFIG } from "./fullModel";
import { corpusLengths } from "./workloads";

const QUICK = process.argv.includes("--quick");
const WASM_ONE = "wasm, 1 thread";
const WASM_THREADS = "wasm, tfjs threads (its default)";
const log = (line: string) => process.stderr.write(`${line}\n`);
const CORES = availableParallelism();
/** /proc's clock ticks per second (getconf CLK_TCK). */
const CLOCK_TICKS = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
const WASM_ALL_THREADS = `wasm, threads: ${CORES} (one tfjs thread per core)`;
const WASM_POOL = `wasm, pool of ${CORES} Web Workers`;

/** --quick's model: SPECTER2's width (so the same matrix shapes), 2 layers, the demo vocabulary, proximity only. */
const QUICK_CONFIG: BertConfig = { ...FULL_CONFIG, num_hidden_layers: 2, vocab_size: demoVocabulary().length };

interface Sizes {
  /** Papers of the CPU workload (corpus lengths), in batches of `batch`: enough batches for every worker. */
  papers: number;
  batch: number;
  /** The GPU backends' few short papers, as [papers, tokens] (SwiftShader: ~1.5 GFLOP/s WebGL, ~0.3 WebGPU). */
  webgl: [number, number];
  webgpu: [number, number];
}
// 48 papers in batches of 8 (the library's default) make 6 batches, which two workers can split to 1.86× of one
// (balanceBound); 32 would make 4 and allow only 1.80×.
const SIZES: Sizes = QUICK ? { papers: 8, batch: 2, webgl: [4, 64], webgpu: [2, 64] } : { papers: 48, batch: 8, webgl: [4, 64], webgpu: [2, 32] };
/** Before each timed run: a batch of two short papers (first allocations, kernel choices, shader compiles). */
const WARMUP_TOKENS = 16;
/** One call into the page may take this long (a full-size wasm run on one thread is about a minute); then it fails. */
const PAGE_CALL_MS = 6 * 60_000;
/** The GPU rows (the slowest, and the least telling) are skipped once the run has taken this long. */
const GPU_AFTER_MS = QUICK ? 2 * 60_000 : 9 * 60_000;

async function ensureQuickModel(): Promise<string> {
  const model = join(CACHE, "browser-quick", "model");
  if (existsSync(join(model, "manifest.json"))) return model;
  log(`building the --quick model in ${model} (once)`);
  const hub = join(CACHE, "browser-quick", "hub");
  rmSync(join(CACHE, "browser-quick"), { recursive: true, force: true });
  mkdirSync(hub, { recursive: true });
  const written = writeRandomHubModel({ config: QUICK_CONFIG, vocab: demoVocabulary(), adapters: SPECTER2_ADAPTERS.filter((a) => a.dir === ADAPTER), seed: 2024 }, hub);
  await convertModel({ base: written.base, adapters: written.adapters, out: model });
  return model;
}

/** `[CLS] … [SEP]` of `length` tokens (the demo vocabulary's 2 and 3), word pieces drawn from the rest of the vocabulary. */
function sequence(length: number, vocab: number, u: () => number): number[] {
  const first = vocab > 2000 ? 1000 : 5;
  const ids = [2];
  while (ids.length < length - 1) ids.push(first + Math.floor(u() * (vocab - first)));
  ids.push(3);
  return ids;
}

/** Sorted by length and cut into batches, as the engine does. */
function batched(seqs: number[][], size: number): number[][][] {
  const sorted = [...seqs].sort((a, b) => a.length - b.length);
  return Array.from({ length: Math.ceil(sorted.length / size) }, (_, i) => sorted.slice(i * size, (i + 1) * size));
}

interface Workload {
  name: string;
  warmup: number[][][];
  batches: number[][][];
}

function workloads(config: BertConfig): { cpu: Workload; webgl: Workload; webgpu: Workload } {
  const u = seededRandom(11);
  const seqs = (n: number, length: number) => Array.from({ length: n }, () => sequence(length, config.vocab_size, u));
  const warmup = [seqs(2, WARMUP_TOKENS)];
  const corpus = corpusLengths(SIZES.papers, 12).map((n) => sequence(n, config.vocab_size, u));
  return {
    cpu: { name: `${SIZES.papers} papers (corpus lengths), batches of ${SIZES.batch}`, warmup, batches: batched(corpus, SIZES.batch) },
    webgl: { name: `${SIZES.webgl[0]} papers of ${SIZES.webgl[1]} tokens, batches of 2`, warmup, batches: batched(seqs(...SIZES.webgl), 2) },
    webgpu: { name: `${SIZES.webgpu[0]} papers of ${SIZES.webgpu[1]} tokens, batches of 2`, warmup, batches: batched(seqs(...SIZES.webgpu), 2) },
  };
}

/** The most `workers` can gain over one on these batches, their cost the padded FLOPs of each, handed out longest
 *  first to whichever worker is free (as the pool does): total work over the busiest worker's. */
function balanceBound(config: BertConfig, batches: number[][][], workers: number): number {
  const costs = batches.map((b) => b.length * flopsPerSequence(config, Math.max(...b.map((s) => s.length)))).sort((a, b) => b - a);
  const load = new Array<number>(workers).fill(0);
  for (const c of costs) load[load.indexOf(Math.min(...load))] += c;
  return costs.reduce((a, b) => a + b, 0) / Math.max(...load);
}

interface Row {
  where: "page" | "Node";
  engine: string;
  runsOn: string;
  workload: Workload;
  loadSeconds: number | null;
  seconds: number;
  /** CPU time Chromium used during the timed run (page engines): the run's cost, however busy the machine was. */
  cpuSeconds?: number;
  /** The first timed batch's first vector (page engines), to compare them. */
  first?: number[];
}

/** A fresh browser context (its own wasm instance, empty Cache API), the harness page in it. */
/** `persistent`: in the browser's default context, whose Cache API is on disk as a user's profile's is (a fresh
 *  context's is in memory and refuses the full-size weights file). */
async function withPage<T>(site: TestSite, browser: Browser, work: (page: Page) => Promise<T>, persistent = false): Promise<T> {
  const { page, context } = await site.open(browser, { persistent });
  try {
    return await work(page);
  } finally {
    await (persistent ? page.close() : context.close());
  }
}

async function pageEngine(site: TestSite, browser: Browser, engine: string, options: Record<string, unknown>, w: Workload): Promise<Row> {
  log(`page ${engine}: ${w.name}`);
  const pid = browser.process()?.pid;
  const r = await withPage(site, browser, async (page) => {
    const started = performance.now();
    const { runsOn } = await call<{ runsOn: string }>(page, "keep", `${site.url}/model/`, { cache: false, adapters: [ADAPTER], ...options });
    const loadMs = performance.now() - started;
    await call(page, "warmKept", w.warmup, ADAPTER);
    const cpuBefore = pid ? treeCpuSeconds(pid) : NaN;
    const timed = await call<{ runMs: number; first: number[] }>(page, "timeKept", w.batches, ADAPTER);
    const cpuSeconds = pid ? treeCpuSeconds(pid) - cpuBefore : NaN;
    await call(page, "closeKept");
    return { runsOn, loadMs, cpuSeconds, ...timed };
  });
  log(`  ${r.runsOn}: load ${(r.loadMs / 1000).toFixed(1)} s, run ${(r.runMs / 1000).toFixed(1)} s, ${r.cpuSeconds.toFixed(1)} CPU s`);
  return { where: "page", engine, runsOn: r.runsOn, workload: w, loadSeconds: r.loadMs / 1000, seconds: r.runMs / 1000, cpuSeconds: r.cpuSeconds, first: r.first };
}

/** benchmarks/engine.ts in its own Node process, as benchmarks/run.ts runs it. */
function engineProcess(name: "wasm" | "pool" | "native" | "roofline", model: string, w: Workload): EngineReport {
  const spec: EngineSpec = { model, onnx: "", threads: CORES, warmup: w.warmup, workloads: [{ name: "cpu", batches: w.batches }], profile: { batch: 1, length: 16 } };
  const specPath = join(CACHE, `browser-spec-${name}.json`);
  writeFileSync(specPath, JSON.stringify(spec));
  const script = join(__dirname, `engine${extname(__filename)}`);
  const loader = extname(__filename) === ".ts" ? ["-r", "ts-node/register/transpile-only"] : [];
  const child = spawnSync(process.execPath, [...loader, script, name, specPath], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], maxBuffer: 1 << 26 });
  if (child.status !== 0) throw new Error(`Node engine ${name} failed (exit ${child.status})`);
  return JSON.parse(child.stdout.trim().split("\n").pop()!) as EngineReport;
}

function nodeEngine(name: "wasm" | "pool" | "native", model: string, w: Workload): Row {
  log(`Node ${name}: ${w.name}`);
  const report = engineProcess(name, model, w);
  const runsOn = { wasm: "wasm (1 thread)", pool: `wasm (${CORES} worker threads)`, native: `native (oneDNN, ${CORES} threads)` }[name];
  return { where: "Node", engine: name, runsOn, workload: w, loadSeconds: null, seconds: report.results[0].seconds };
}

/** What the cores give at once now: one bare wasm matmul (benchmarks/roofline.ts) on every core together over one
 *  alone. Near the core count on an idle machine; lower, the parallel rows of this run mean little. */
function headroom(model: string, w: Workload): number {
  const { single, parallel } = engineProcess("roofline", model, w).value as { single: number; parallel: number };
  log(`headroom: ${CORES} threads at once ${(parallel / single).toFixed(2)}× one`);
  return parallel / single;
}

/** A process and all its descendants (Chromium: the browser, its renderers, its GPU process). */
function processTree(root: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync("/proc").filter((e) => /^\d+$/.test(e))) {
    try {
      // /proc/PID/stat: "pid (comm) state ppid …"; comm may hold spaces and parentheses, so split after the last ")".
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {
      // gone meanwhile
    }
  }
  const tree = new Set([root]);
  for (let grew = true; grew;) {
    grew = false;
    for (const [pid, ppid] of parents) {
      if (tree.has(ppid) && !tree.has(pid)) {
        tree.add(pid);
        grew = true;
      }
    }
  }
  return [...tree];
}

/** Resident memory of a process tree, bytes. */
function treeRss(root: number): number {
  let bytes = 0;
  for (const pid of processTree(root)) {
    try {
      bytes += Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) * 1024;
    } catch {
      // gone meanwhile
    }
  }
  return bytes;
}

/** CPU time (user + system) a process tree has used, in seconds: what a run cost whatever else shares the cores. */
function treeCpuSeconds(root: number): number {
  let ticks = 0;
  for (const pid of processTree(root)) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" "); // fields[0] is field 3, state
      ticks += Number(fields[11]) + Number(fields[12]); // utime, stime: fields 14 and 15
    } catch {
      // gone meanwhile
    }
  }
  return ticks / CLOCK_TICKS;
}

interface FirstVector {
  engine: string;
  runsOn: string;
  coldSeconds: number;
  cachedSeconds: number;
  /** What Chromium's processes grew by with the model loaded (the cold load; garbage not yet collected included), bytes. */
  rssGrowth: number;
}

/** load() to the first vector of one paper, timed from here around the page's calls: cold (the browser's HTTP cache
 *  and our Cache API entries emptied first), then after a reload (from the Cache API); and what Chromium's memory
 *  grew by with the cold load. In the default context, whose Cache API is on disk (withPage). */
async function firstVector(site: TestSite, browser: Browser, engine: string, options: Record<string, unknown>, paper: { title: string; abstract: string | null }): Promise<FirstVector> {
  log(`load → first vector, ${engine}`);
  const pid = browser.process()?.pid;
  return withPage(
    site,
    browser,
    async (page) => {
      const run = async () => {
        const started = performance.now();
        const { runsOn } = await call<{ runsOn: string }>(page, "keep", `${site.url}/model/`, { cache: true, adapters: [ADAPTER], ...options });
        await call(page, "embedKept", [paper], {});
        return { runsOn, seconds: (performance.now() - started) / 1000 };
      };
      await (await page.createCDPSession()).send("Network.clearBrowserCache");
      await page.evaluate(`caches.delete("specter2-tfjs")`);
      const before = pid ? treeRss(pid) : 0;
      const cold = await run();
      const rssGrowth = pid ? treeRss(pid) - before : 0;
      await call(page, "closeKept");
      await page.reload();
      await page.waitForFunction(() => "harness" in globalThis, { timeout: 30_000 });
      const cached = await run();
      await call(page, "closeKept");
      log(`  ${cold.runsOn}: cold ${cold.seconds.toFixed(1)} s, from the cache ${cached.seconds.toFixed(1)} s, Chromium +${(rssGrowth / 2 ** 20).toFixed(0)} MiB`);
      return { engine, runsOn: cold.runsOn, coldSeconds: cold.seconds, cachedSeconds: cached.seconds, rssGrowth };
    },
    true,
  );
}

function maxAbsDiff(a: number[] | undefined, b: number[] | undefined): string {
  if (!a || !b) return "—";
  return a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0).toExponential(1);
}

/** The busiest other processes now, as top sees them over its sampling interval. */
function busyProcesses(): string {
  const top = execFileSync("top", ["-bn1", "-c", "-w", "200", "-o", "%CPU"], { encoding: "utf8" });
  const busy = top
    .split("\n")
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => /^\d+$/.test(f[0]) && parseFloat(f[8]) >= 10 && Number(f[0]) !== process.pid)
    .slice(0, 4)
    .map((f) => `${f[8]}% ${f.slice(11).join(" ").slice(0, 40)}`);
  return busy.length ? busy.join("; ") : "nothing busy";
}

const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(", ");

async function main(): Promise<void> {
  const started = Date.now();
  const loadBefore = load();
  const busyBefore = busyProcesses();
  const model = QUICK ? await ensureQuickModel() : (await ensureFullModel(log)).model;
  const config = JSON.parse(readFileSync(join(model, "config.json"), "utf8")) as BertConfig;
  const w = workloads(config);
  const paper = JSON.parse(readFileSync(join(ROOT, "examples", "papers.jsonl"), "utf8").split("\n")[0]) as { title: string; abstract: string | null };
  const headroomBefore = headroom(model, w.cpu);
  const site = await startTestSite({ "/model/": model });
  const browser = await launchChromium({ protocolTimeout: PAGE_CALL_MS });
  const rows: Row[] = [];
  const gpuRows: Row[] = [];
  const loads: FirstVector[] = [];
  /** What failed or was skipped, said under the tables: one engine's failure does not lose the others' figures. */
  const missing: string[] = [];
  const attempt = async <T>(what: string, into: T[], run: () => Promise<T> | T) => {
    try {
      into.push(await run());
    } catch (e) {
      log(`${what} failed: ${e instanceof Error ? e.message : String(e)}`);
      missing.push(`${what}: failed (${(e instanceof Error ? e.message : String(e)).split("\n")[0].slice(0, 200)})`);
    }
  };
  const gpu = async (what: string, options: Record<string, unknown>, workload: Workload) => {
    if (Date.now() - started > GPU_AFTER_MS) missing.push(`${what}: skipped, the run had taken ${((Date.now() - started) / 60_000).toFixed(1)} min`);
    else await attempt(what, gpuRows, () => pageEngine(site, browser, what, options, workload));
  };
  let chromium: string;
  try {
    chromium = await browser.version();
    await attempt("page wasm, 1 thread", rows, () => pageEngine(site, browser, WASM_ONE, { backend: "wasm", threads: 1 }, w.cpu));
    await attempt("page wasm, tfjs threads", rows, () => pageEngine(site, browser, WASM_THREADS, { backend: "wasm" }, w.cpu));
    // tfjs alone runs at most half of navigator.hardwareConcurrency threads; `threads` asks for one per core.
    await attempt("page wasm, tfjs threads on every core", rows, () => pageEngine(site, browser, WASM_ALL_THREADS, { backend: "wasm", threads: CORES }, w.cpu));
    await attempt("page wasm pool", rows, () => pageEngine(site, browser, WASM_POOL, { backend: "wasm", workers: CORES }, w.cpu));
    await gpu("webgl (SwiftShader)", { backend: "webgl" }, w.webgl);
    await gpu("webgpu (SwiftShader)", { backend: "webgpu" }, w.webgpu);
    await attempt("load → first vector, page thread", loads, () => firstVector(site, browser, "wasm, page thread", { backend: "wasm" }, paper));
    await attempt("load → first vector, pool", loads, () => firstVector(site, browser, WASM_POOL, { backend: "wasm", workers: CORES }, paper));
  } finally {
    await browser.close();
    await site.close();
  }
  await attempt("Node wasm", rows, () => nodeEngine("wasm", model, w.cpu));
  await attempt("Node wasm pool", rows, () => nodeEngine("pool", model, w.cpu));
  if (nativeAddonBuilt()) await attempt("Node native", rows, () => nodeEngine("native", model, w.cpu));
  else missing.push("Node native: the addon is not built (npm run build:native)");
  const headroomAfter = headroom(model, w.cpu);

  const isa = cpuIsa();
  const out: string[] = [];
  out.push(`# Browser benchmark${QUICK ? " (--quick: a 2-layer model, figures only a hint)" : ""}`, "");
  out.push(`- ${new Date().toISOString()}; ${formatIsa(isa)}`);
  out.push(
    `- ${CORES} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB; load average ${loadBefore} (1, 5, 15 min) at the start, ${load()} at the end; other processes busy at the start: ${busyBefore}`,
  );
  out.push(
    `- headroom: a bare wasm matmul on ${CORES} threads at once gave ${headroomBefore.toFixed(2)}× one thread before the run, ${headroomAfter.toFixed(2)}× after it${
      Math.min(headroomBefore, headroomAfter) < 0.85 * CORES
        ? ` — below ${(0.85 * CORES).toFixed(1)}×: other work shared the cores, so the parallel rows below understate what ${CORES} cores give`
        : ""
    }`,
  );
  out.push(`- ${chromium} (${process.env.SPECTER2_CHROMIUM ?? "/usr/bin/chromium"}, headless, SwiftShader); Node ${process.version}`);
  out.push(`- model: ${model} (${config.num_hidden_layers} layers, hidden ${config.hidden_size}, vocab ${config.vocab_size}), adapter ${ADAPTER}; page loads with cache: false`);
  out.push("");
  const page = (engine: string) => rows.find((r) => r.where === "page" && r.engine === engine);
  const base = page(WASM_ONE);
  const pps = (r: Row) => r.workload.batches.flat().length / r.seconds;
  const ratio = (r: Row | undefined) => (r && base ? `${(pps(r) / pps(base)).toFixed(2)}×` : "—");
  const gflops = (r: Row) => flopsOf(config, r.workload.batches.flat()) / r.seconds / 1e9;
  out.push(`## wasm and native: ${w.cpu.name}, the same token ids everywhere`, "");
  out.push(
    `How evenly these batches split: ${CORES} workers can do at most ${balanceBound(config, w.cpu.batches, CORES).toFixed(2)}× one on them (padded FLOPs, longest first), whatever the cores give.`,
    "",
  );
  out.push(
    "CPU s per paper: Chromium's CPU time (all its processes) during the timed run over the papers, a run's cost whatever else shared the cores; parallel work that wastes none costs what one thread does.",
    "",
  );
  out.push(
    "| where | engine | runs on | papers/s | GFLOP/s | × page wasm 1 thread | CPU s per paper | load s | max abs Δ vs page wasm 1 thread |",
    "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
  );
  for (const r of rows) {
    const cpu = r.cpuSeconds === undefined || Number.isNaN(r.cpuSeconds) ? "—" : (r.cpuSeconds / r.workload.batches.flat().length).toFixed(3);
    out.push(
      `| ${r.where} | ${r.engine} | ${r.runsOn} | ${pps(r).toFixed(3)} | ${gflops(r).toFixed(1)} | ${ratio(r)} | ${cpu} | ${r.loadSeconds?.toFixed(1) ?? "—"} | ${r === base ? "—" : maxAbsDiff(r.first, base?.first)} |`,
    );
  }
  out.push("");
  out.push("## WebGL and WebGPU on SwiftShader", "");
  out.push(
    "SwiftShader is a software GPU: it runs these backends' shaders on the CPU. These figures prove the paths run and say nothing about a real GPU's speed; they get few, short papers so that they finish.",
    "",
  );
  out.push("| engine | workload | runs on | papers/s | GFLOP/s | load s |", "| --- | --- | --- | ---: | ---: | ---: |");
  for (const r of gpuRows) out.push(`| ${r.engine} | ${r.workload.name} | ${r.runsOn} | ${pps(r).toFixed(3)} | ${gflops(r).toFixed(2)} | ${r.loadSeconds?.toFixed(1)} |`);
  out.push("");
  out.push("## load() to the first vector (one paper), in the page", "");
  out.push(
    "Cold: the browser's default context (its profile on disk, as a user's), its HTTP cache and our Cache API entries emptied first; then the page reloaded, the files from the Cache API (a fresh context's Cache API, in memory as a private window's, refuses entries of 256 MiB and more: the load then warns and downloads again next time). Memory: what Chromium's processes grew by (resident, all of them) from before the cold load to after its first vector, garbage not yet collected included: an upper bound of what the model costs there.",
    "",
  );
  out.push("| engine | runs on | cold (nothing cached) s | after a reload (Cache API) s | Chromium memory with the model MiB |", "| --- | --- | ---: | ---: | ---: |");
  for (const l of loads) out.push(`| ${l.engine} | ${l.runsOn} | ${l.coldSeconds.toFixed(1)} | ${l.cachedSeconds.toFixed(1)} | ${(l.rssGrowth / 2 ** 20).toFixed(0)} |`);
  out.push("");
  out.push(
    `Target: the page's wasm on ${CORES} cores ≥ 1.8× one thread. Measured: pool ${ratio(page(WASM_POOL))}, tfjs threads ${ratio(page(WASM_THREADS))} (its default), ${ratio(page(WASM_ALL_THREADS))} (one thread per core).`,
  );
  for (const m of missing) out.push(`- ${m}`);
  out.push(`Wall time ${((Date.now() - started) / 1000).toFixed(0)} s.`);
  process.stdout.write(`${out.join("\n")}\n`);
  const plain = (r: Row) => ({ ...r, workload: r.workload.name, papers: r.workload.batches.flat().length, papersPerSecond: pps(r) });
  writeFileSync(
    join(CACHE, "browser-last.json"),
    JSON.stringify(
      { quick: QUICK, chromium, headroom: [headroomBefore, headroomAfter], rows: rows.map(plain), gpuRows: gpuRows.map(plain), loads, missing, markdown: out.join("\n") },
      null,
      2,
    ),
  );
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
