// The benchmark: every engine on the same full-size model and the same token ids, one after another, each
// in its own process; writes benchmarks/RESULTS.md and throughput.svg.
//   npx ts-node --transpile-only benchmarks/run.ts [--quick | --report (re-render the last run)]
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, loadavg, totalmem } from "node:os";
import { join } from "node:path";
import { renderChart } from "./chart";
import { ensureOnnx, runEngine, runTorch } from "./children";
import type { EngineName, EngineReport } from "./engine";
import { ADAPTER } from "./engines";
import { CACHE, ensureFullModel, FULL_CONFIG } from "./fullModel";
import type { Profile } from "./profile";
import { renderResults } from "./report";
import type { EngineRun, RunResults } from "./runResults";
import type { Precision } from "../src/model/config";
import { nativeAddonBuilt } from "../src/backend/native/addon";
import { cpuIsa, formatIsa, formatPrecisionSupport, nativePrecisionInfo } from "../src/backend/native/precision";
import type { Workload } from "./workloads";
import { FULL_SIZES, makeWorkloads, QUICK_SIZES } from "./workloads";

/** Sections other benchmarks append to RESULTS.md; a new run keeps them. */
const FOREIGN_SECTIONS = /^## (Serve|Native backend|Precision)/m;
const LAST_RUN = join(CACHE, "last-run.json");
const log = (line: string) => process.stderr.write(`${line}\n`);

/** The busiest other processes right now (this run, its parent and its children left out): the run shares
 *  this machine and says with what. */
function otherProcesses(): string[] {
  const ps = execFileSync("ps", ["-eo", "pid=,ppid=,pcpu=,args=", "--sort=-pcpu"], { encoding: "utf8" });
  const ours = new Set([process.pid, process.ppid]);
  return ps
    .split("\n")
    .map((l) => l.trim().split(/\s+/))
    .filter(([pid, ppid, cpu]) => parseFloat(cpu) >= 10 && !ours.has(Number(pid)) && !ours.has(Number(ppid)))
    .slice(0, 6)
    .map(([, , cpu, ...args]) => `${cpu} ${args.join(" ").slice(0, 90).replace(/\|/g, "/")}`);
}

function isInstalled(name: string): boolean {
  return packageVersion(name) !== "not installed";
}

function packageVersion(name: string): string {
  try {
    return (JSON.parse(readFileSync(require.resolve(`${name}/package.json`), "utf8")) as { version: string }).version;
  } catch {
    return "not installed";
  }
}

function weightsBytes(model: string): number {
  const files = (JSON.parse(readFileSync(join(model, "manifest.json"), "utf8")) as { files: Record<string, { bytes: number }> }).files;
  return files["model.safetensors"].bytes + files[`adapters/${ADAPTER}.safetensors`].bytes;
}

function writeReport(results: RunResults): void {
  const resultsPath = join(__dirname, "RESULTS.md");
  const previous = existsSync(resultsPath) ? readFileSync(resultsPath, "utf8") : "";
  const foreign = previous.search(FOREIGN_SECTIONS);
  writeFileSync(resultsPath, renderResults(results) + (foreign >= 0 ? `\n${previous.slice(foreign)}` : ""));
  writeFileSync(join(__dirname, "throughput.svg"), renderChart(results));
}

async function measure(quick: boolean): Promise<void> {
  const started = Date.now();
  const loadBefore = loadavg();
  const others = otherProcesses();
  const { hub, model } = await ensureFullModel(log);
  const onnx = ensureOnnx(hub);
  const threads = availableParallelism();
  const nativeBuilt = nativeAddonBuilt();
  const workloads = makeWorkloads(quick ? QUICK_SIZES : FULL_SIZES);
  const first = workloads.find((w) => w.length !== "corpus")!;
  // tfjs-backend-cpu runs ~30× slower than wasm: one batch of the shortest fixed shape.
  const cpuSample: Workload = { ...first, name: `${first.name}-sample`, batches: first.batches.slice(0, 1) };
  // One batch of 32 × 512 takes minutes on the wasm path; its throughput is that of 8 × 512.
  const tfjsWorkloads = workloads.filter((w) => quick || !(w.length === 512 && w.batchSize === 32));
  // Reduced precisions: the corpus and every length at batch 8, beside fp32's figures for the same.
  const reducedWorkloads = workloads.filter((w) => quick || w.length === "corpus" || w.batchSize === 8);
  // Warm-up: one short batch per pool worker.
  const warmup = Array.from({ length: threads }, () => first.batches[0]);
  const base = { model, onnx, threads, warmup, profile: quick ? { batch: 2, length: 64 } : { batch: 8, length: 256 } };
  const plan: { engine: string; label: string; threads: number; workloads: Workload[] }[] = [
    { engine: "ort", label: `onnxruntime-node (${threads} threads)`, threads, workloads },
    { engine: "torch", label: `PyTorch (${threads} threads)`, threads, workloads },
    { engine: "torch-bf16", label: `PyTorch bf16 autocast (${threads} threads)`, threads, workloads: reducedWorkloads },
    { engine: "torch-int8", label: `PyTorch int8 dynamic (${threads} threads)`, threads, workloads: reducedWorkloads },
    { engine: "wasm", label: "this project, wasm (1 thread)", threads: 1, workloads: tfjsWorkloads },
    { engine: "pool", label: `this project, wasm pool (${threads} workers)`, threads, workloads: tfjsWorkloads },
    { engine: "cpu", label: "this project, cpu (1 thread)", threads: 1, workloads: [cpuSample] },
  ];
  // Where the addon is built: the native backend on every core, after the peers it is measured against.
  if (nativeBuilt)
    plan.splice(
      4,
      0,
      { engine: "native", label: `this project, native (${threads} threads)`, threads, workloads },
      { engine: "native-bf16", label: `this project, native bf16 (${threads} threads)`, threads, workloads: reducedWorkloads },
      { engine: "native-int8", label: `this project, native int8 (${threads} threads)`, threads, workloads: reducedWorkloads },
    );
  else log("the native addon is not built: the native backend is left out (README, Native backend)");
  // tfjs-node is an optional peer that cannot install where its download host is unreachable (as on the
  // machine RESULTS.md comes from); where it is installed it is measured too.
  if (isInstalled("@tensorflow/tfjs-node")) plan.splice(nativeBuilt ? 7 : 4, 0, { engine: "node", label: `this project, tfjs-node (${threads} threads)`, threads, workloads });
  else log("@tensorflow/tfjs-node is not installed: the node backend is left out");
  log("roofline");
  const roofline = runEngine("roofline", { ...base, workloads: [] }).value as { single: number; parallel: number };
  const onednnGflops = nativeBuilt ? (runEngine("onednn", { ...base, workloads: [] }).value as number) : undefined;
  const versions: Record<string, string> = {
    node: process.version,
    "tfjs-core": packageVersion("@tensorflow/tfjs-core"),
    "tfjs-backend-wasm": packageVersion("@tensorflow/tfjs-backend-wasm"),
    "onnxruntime-node": packageVersion("onnxruntime-node"),
    "tfjs-node": packageVersion("@tensorflow/tfjs-node"),
  };
  const engines: EngineRun[] = [];
  for (const p of plan) {
    log(`${p.label}: ${p.workloads.length} workloads`);
    const spec = { ...base, workloads: p.workloads.map((w) => ({ name: w.name, batches: w.batches })) };
    let report: EngineReport;
    if (p.engine.startsWith("torch")) {
      const torch = runTorch(hub, spec, (p.engine.split("-")[1] ?? "fp32") as Precision);
      report = torch.report;
      versions.torch = `${torch.version} (OPENBLAS_CORETYPE=${process.env.OPENBLAS_CORETYPE ?? "unset"})`;
    } else {
      report = runEngine(p.engine as EngineName, spec);
    }
    engines.push({ engine: p.engine, label: p.label, threads: p.threads, results: report.results, peakRssBytes: report.peakRssBytes });
  }
  log("profile");
  const profile = runEngine("profile", { ...base, workloads: [] }).value as Profile;
  const nativeProfile = nativeBuilt ? (runEngine("nativeProfile", { ...base, workloads: [] }).value as Profile) : undefined;
  const results: RunResults = {
    date: new Date().toISOString(),
    quick,
    machine: {
      cpu: cpus()[0].model,
      cores: threads,
      isa: [formatIsa(cpuIsa()), ...(nativeBuilt ? formatPrecisionSupport(nativePrecisionInfo()) : [])],
      memoryGiB: totalmem() / 2 ** 30,
      loadBefore,
      loadAfter: loadavg(),
      otherProcesses: others,
    },
    versions,
    config: FULL_CONFIG,
    weightsBytes: weightsBytes(model),
    rooflineGflops: roofline.single,
    rooflineParallelGflops: roofline.parallel,
    onednnGflops,
    workloads: [...workloads, cpuSample],
    engines,
    profile,
    nativeProfile,
    wallSeconds: (Date.now() - started) / 1000,
  };
  // Kept before rendering, so a report can be redone (--report) without measuring again.
  writeFileSync(LAST_RUN, JSON.stringify(results));
  writeReport(results);
  log(`wrote benchmarks/RESULTS.md and throughput.svg in ${((Date.now() - started) / 60000).toFixed(1)} min`);
}

const run = process.argv.includes("--report") ? async () => writeReport(JSON.parse(readFileSync(LAST_RUN, "utf8")) as RunResults) : () => measure(process.argv.includes("--quick"));
run().catch((e: Error) => {
  log(e.stack ?? e.message);
  process.exit(1);
});
