// What one benchmark run measured, and the figures derived from it (shared by the report and the chart).
import type { BertConfig } from "../src/model/config";
import { flopsOf } from "./flops";
import type { Profile } from "./profile";
import type { Workload } from "./workloads";
import { papersIn } from "./workloads";

export interface EngineRun {
  /** Key: wasm, pool, cpu, native, ort, torch. */
  engine: string;
  label: string;
  /** Threads its math runs on. */
  threads: number;
  results: { name: string; seconds: number }[];
  peakRssBytes: number;
}

export interface RunResults {
  date: string;
  quick: boolean;
  /** isa: the CPU's relevant instruction sets, then oneDNN's implementation per precision (older runs lack it). */
  machine: { cpu: string; cores: number; isa?: string[]; memoryGiB: number; loadBefore: number[]; loadAfter: number[]; otherProcesses: string[] };
  versions: Record<string, string>;
  config: BertConfig;
  weightsBytes: number;
  rooflineGflops: number;
  /** The same product on every core at once, summed. */
  rooflineParallelGflops: number;
  /** oneDNN's large matmul through the native addon on every core (absent where it is not built). */
  onednnGflops?: number;
  workloads: Workload[];
  engines: EngineRun[];
  profile: Profile;
  nativeProfile?: Profile;
  wallSeconds: number;
}

export interface Cell {
  papers: number;
  seconds: number;
  papersPerSecond: number;
  gflops: number;
  /** Model FLOP/s over the engine's ceiling: oneDNN's fp32 matmul for native (at every precision), else (wasm roofline × threads used). */
  rooflineFraction: number;
}

export function cell(r: RunResults, engine: EngineRun, workload: Workload): Cell | undefined {
  const hit = engine.results.find((x) => x.name === workload.name);
  if (!hit) return undefined;
  const papers = papersIn(workload);
  const gflops = flopsOf(r.config, workload.batches.flat()) / hit.seconds / 1e9;
  const ceiling = engine.engine.startsWith("native") && r.onednnGflops ? r.onednnGflops : r.rooflineGflops * engine.threads;
  return { papers, seconds: hit.seconds, papersPerSecond: papers / hit.seconds, gflops, rooflineFraction: gflops / ceiling };
}
