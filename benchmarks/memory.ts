// Peak memory: each engine in its own process on the same realistic papers at batch 8, full-size model,
// with where this project's memory goes. Prints a markdown table (benchmarks/RESULTS.md "Memory at batch 8").
//   npx ts-node --transpile-only benchmarks/memory.ts [--papers 48] [--engines native,wasm,...]
import { cpus, loadavg } from "node:os";
import { readFileSync } from "node:fs";
import { extname, join } from "node:path";
import type { Precision } from "../src/model/config";
import { nativeAddonBuilt } from "../src/backend/native/addon";
import { ensureOnnx, runEngine, runTorch } from "./children";
import type { EngineName, EngineReport, EngineSpec } from "./engine";
import { ADAPTER } from "./engines";
import { ensureFullModel } from "./fullModel";
import { makeWorkloads } from "./workloads";

const MiB = 2 ** 20;
const log = (line: string) => process.stderr.write(`${line}\n`);
const out = (line = "") => process.stdout.write(`${line}\n`);

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

/** What each engine targets, as a multiple of the fp32 weight bytes. */
const TARGETS: Partial<Record<string, number>> = { native: 1.5, "native-bf16": 1.0, wasm: 2.0 };

interface Row {
  label: string;
  engine: string;
  report: EngineReport;
}

async function main(): Promise<void> {
  const papers = flag("papers", 48);
  const { hub, model } = await ensureFullModel(log);
  const onnx = ensureOnnx(hub);
  const files = (JSON.parse(readFileSync(join(model, "manifest.json"), "utf8")) as { files: Record<string, { bytes: number }> }).files;
  const weights = files["model.safetensors"].bytes + files[`adapters/${ADAPTER}.safetensors`].bytes;
  const corpus = makeWorkloads({ corpusPapers: papers, lengths: [], batchSizes: [] })[0];
  const lengths = corpus.batches.flat().map((r) => r.length);
  const spec: EngineSpec = {
    model,
    onnx,
    threads: cpus().length,
    warmup: corpus.batches.slice(0, 1),
    workloads: [{ name: corpus.name, batches: corpus.batches }],
    profile: { batch: 8, length: 256 },
  };
  const plan: { engine: string; label: string }[] = [
    { engine: "ort", label: "onnxruntime-node" },
    { engine: "torch-fp32", label: "PyTorch fp32" },
    { engine: "torch-bf16", label: "PyTorch bf16 autocast" },
    ...(nativeAddonBuilt()
      ? [
          { engine: "native", label: "this project, native fp32" },
          { engine: "native-bf16", label: "this project, native bf16" },
          { engine: "native-int8", label: "this project, native int8" },
        ]
      : []),
    { engine: "wasm", label: "this project, wasm (1 thread)" },
  ];
  const only = process.argv.includes("--engines") ? process.argv[process.argv.indexOf("--engines") + 1].split(",") : undefined;
  const rows: Row[] = [];
  for (const p of plan.filter((x) => only === undefined || only.includes(x.engine))) {
    log(p.label);
    const report = p.engine.startsWith("torch") ? runTorch(hub, spec, p.engine.split("-")[1] as Precision).report : runEngine(p.engine as EngineName, spec);
    rows.push({ ...p, report });
  }
  const mib = (b: number | undefined) => (b === undefined ? "" : (b / MiB).toFixed(0));
  out(
    `CPU: ${cpus()[0].model}, ${cpus().length} cores; load average after ${loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}`,
  );
  out(
    `full-size model, ${ADAPTER}; ${papers} papers (${Math.min(...lengths)}–${Math.max(...lengths)} tokens, mean ${(lengths.reduce((a, b) => a + b, 0) / lengths.length).toFixed(0)}) in batches of 8; weights ${mib(weights)} MiB (fp32, base + adapter); each engine in its own process`,
  );
  out(
    extname(__filename) === ".ts"
      ? "this project's engines ran through ts-node (its TypeScript compiler counts in their RSS; `node dist/benchmarks/memory.js` runs them compiled, as users do)"
      : "this project's engines ran compiled (node dist/benchmarks/engine.js), as users run them",
  );
  out();
  out("| engine | peak RSS (MiB) | × weights | target | RSS before load | RSS loaded | RSS at end | packed weights | free pooled outputs at end | seconds |");
  out("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
  for (const r of rows) {
    const m = r.report.memory;
    const ratio = r.report.peakRssBytes / weights;
    const target = TARGETS[r.engine];
    out(
      `| ${r.label} | ${mib(r.report.peakRssBytes)} | ${ratio.toFixed(2)} | ${target === undefined ? "" : `≤ ${target.toFixed(1)}: ${ratio <= target ? "met" : "not met"}`} | ${mib(m?.startRssBytes)} | ${mib(m?.loadedRssBytes)} | ${mib(m?.endRssBytes)} | ${mib(m?.packedBytes)} | ${mib(m?.pooledBytes)} | ${r.report.results[0].seconds.toFixed(1)} |`,
    );
  }
}

main().catch((e: Error) => {
  log(e.stack ?? e.message);
  process.exit(1);
});
