// One engine in its own process, so each one's peak RSS is its own. Started by run.ts:
//   engine.ts ENGINE SPEC.json  →  prints one JSON line (EngineReport) on stdout.
import { readFileSync } from "node:fs";
import type { Engine } from "./engines";
import { ortEngine, poolEngine, tfjsEngine } from "./engines";
import { onednnMatmulGflops } from "./onednnRoofline";
import { profileForward } from "./profile";
import { matmulGflops, parallelMatmulGflops, prepareMatmul } from "./roofline";

export const ENGINES = ["wasm", "pool", "cpu", "native", "native-bf16", "native-int8", "node", "ort", "roofline", "onednn", "profile", "nativeProfile"] as const;
export type EngineName = (typeof ENGINES)[number];

export interface EngineSpec {
  model: string;
  onnx: string;
  threads: number;
  /** Run once before timing: the first calls allocate memory and pick kernels. */
  warmup: number[][][];
  workloads: { name: string; batches: number[][][] }[];
  profile: { batch: number; length: number };
}

export interface EngineReport {
  results: { name: string; seconds: number }[];
  peakRssBytes: number;
  /** RSS before the model is loaded (Node, the engine's modules), once it is loaded (before any forward pass) and after
   *  the last workload; for the native backend, its packed weights and the free outputs its pool keeps, after the last workload. */
  memory?: { startRssBytes: number; loadedRssBytes: number; endRssBytes: number; packedBytes?: number; pooledBytes?: number };
  /** roofline: GFLOP/s on one thread and summed over `threads` at once; onednn: GFLOP/s; (native)profile: the Profile. */
  value?: unknown;
}

async function open(name: EngineName, spec: EngineSpec): Promise<Engine> {
  if (name === "wasm" || name === "cpu" || name === "native" || name === "node") return tfjsEngine(spec.model, name);
  if (name === "native-bf16" || name === "native-int8") return tfjsEngine(spec.model, "native", name === "native-bf16" ? "bf16" : "int8");
  if (name === "pool") return poolEngine(spec.model, spec.threads);
  return ortEngine(spec.onnx, spec.threads);
}

async function measure(name: EngineName, spec: EngineSpec): Promise<Omit<EngineReport, "peakRssBytes">> {
  if (name === "roofline") {
    await prepareMatmul();
    return { results: [], value: { single: matmulGflops(), parallel: await parallelMatmulGflops(spec.threads) } };
  }
  if (name === "onednn") return { results: [], value: onednnMatmulGflops() };
  if (name === "profile") return { results: [], value: await profileForward(spec.model, spec.profile.batch, spec.profile.length, "wasm") };
  if (name === "nativeProfile") return { results: [], value: await profileForward(spec.model, spec.profile.batch, spec.profile.length, "native") };
  const startRssBytes = process.memoryUsage().rss;
  const engine = await open(name, spec);
  const loadedRssBytes = process.memoryUsage().rss;
  await engine.run(spec.warmup);
  const results = [];
  for (const w of spec.workloads) {
    const start = performance.now();
    await engine.run(w.batches);
    results.push({ name: w.name, seconds: (performance.now() - start) / 1000 });
    process.stderr.write(`  ${name} ${w.name}: ${results[results.length - 1].seconds.toFixed(2)} s\n`);
  }
  const memory = { startRssBytes, loadedRssBytes, endRssBytes: process.memoryUsage().rss, ...engine.memory?.() };
  await engine.close();
  return { results, memory };
}

if (require.main === module) {
  const [name, specPath] = process.argv.slice(2) as [EngineName, string];
  if (!ENGINES.includes(name) || !specPath) throw new Error(`usage: engine.ts {${ENGINES.join("|")}} SPEC.json`);
  const spec = JSON.parse(readFileSync(specPath, "utf8")) as EngineSpec;
  measure(name, spec).then(
    (report) => {
      // maxRSS covers the whole process, worker threads included; Linux reports KiB.
      process.stdout.write(`${JSON.stringify({ ...report, peakRssBytes: process.resourceUsage().maxRSS * 1024 })}\n`);
      process.exit(0);
    },
    (e: Error) => {
      process.stderr.write(`${e.stack ?? e.message}\n`);
      process.exit(1);
    },
  );
}
