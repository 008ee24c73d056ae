// Reduced precision on the native backend: fidelity, speed, and what bounds them.
//   npx ts-node --transpile-only benchmarks/precision.ts fidelity            per fixture run vs PyTorch fp32, per configuration
//   npx ts-node --transpile-only benchmarks/precision.ts full-fidelity       the full-size model vs its fp32, per configuration
//   npx ts-node --transpile-only benchmarks/precision.ts speed [--repeats N]  papers/s of fp32, bf16, int8 on one workload, interleaved
//   npx ts-node --transpile-only benchmarks/precision.ts matmul              the bare products per precision (GOP/s)
//   npx ts-node --transpile-only benchmarks/precision.ts profile [bf16]      tf.profile of one 8 × 256 forward pass per op kind
//   npx ts-node --transpile-only benchmarks/precision.ts retrieval [--papers N --queries N]  top-10 overlap and Spearman vs fp32
// Every command prints the CPU model, its ISA flags and oneDNN's implementations first: only figures of one run compare.
import { availableParallelism, loadavg } from "node:os";
import { join } from "node:path";
import type { Precision, PrecisionOverrides } from "../src/model/config";
import { loadAddon } from "../src/backend/native/addon";
import { cpuIsa, formatIsa, formatPrecisionSupport, nativePrecisionInfo } from "../src/backend/native/precision";
import type { LocalModel } from "../src/engine/localModel";
import { loadLocalModel } from "../src/node/specter2";
import { convertModelFixture, MODEL_FIXTURES } from "../test/helpers/modelFixtures";
import { ADAPTER } from "./engines";
import type { RunFidelity } from "../test/helpers/fidelity";
import { compareVectors, referenceFidelity } from "../test/helpers/fidelity";
import { ensureFullModel } from "./fullModel";
import { packedMatmulGops } from "./onednnRoofline";
import { profileForward } from "./profile";
import { makeWorkloads, papersIn } from "./workloads";

const out = (line = "") => process.stdout.write(`${line}\n`);

export function header(): string[] {
  const info = nativePrecisionInfo();
  return [
    `CPU: ${formatIsa(cpuIsa())}`,
    `oneDNN ${loadAddon().onednnVersion()}, ISA ${info.isa}, ${loadAddon().threads()} threads; load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")} on ${availableParallelism()} cores`,
    ...formatPrecisionSupport(info).map((l) => `  ${l}`),
  ];
}

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

// --- fidelity ---

export interface Configuration {
  name: string;
  precision: Precision;
  overrides?: PrecisionOverrides;
}

/** The defaults, and the alternatives each choice was measured against. */
const EVERY_WEIGHT_INT8: PrecisionOverrides["weights"] = { ffn_in: "int8", ffn_out: "int8", hidden: "int8", adapter: "int8" };

export const CONFIGURATIONS: Configuration[] = [
  { name: "fp32", precision: "fp32" },
  { name: "bf16 (default: attention in bf16)", precision: "bf16" },
  { name: "bf16, attention fp32", precision: "bf16", overrides: { activations: "fp32" } },
  { name: "int8 (default: feed-forward int8 per row, rest bf16)", precision: "int8" },
  { name: "int8 default, per-tensor", precision: "int8", overrides: { int8Scales: "tensor" } },
  { name: "int8 default, attention fp32", precision: "int8", overrides: { activations: "fp32" } },
  { name: "int8 default, ffn_out in bf16", precision: "int8", overrides: { weights: { ffn_out: "bf16" } } },
  { name: "int8 every weight product", precision: "int8", overrides: { weights: EVERY_WEIGHT_INT8 } },
  { name: "int8 every weight product, per-tensor", precision: "int8", overrides: { weights: EVERY_WEIGHT_INT8, int8Scales: "tensor" } },
  { name: "int8 every weight product but hidden×hidden", precision: "int8", overrides: { weights: { ...EVERY_WEIGHT_INT8, hidden: "bf16" } } },
  { name: "int8 every weight product but adapters", precision: "int8", overrides: { weights: { ...EVERY_WEIGHT_INT8, adapter: "bf16" } } },
];

export const FIXTURES = ["full_width", "specter2_layout", "houlsby", "stress"] as const;

export async function fixtureFidelity(configurations: Configuration[] = CONFIGURATIONS): Promise<(RunFidelity & { fixture: string; configuration: string })[]> {
  const rows = [];
  for (const fixture of FIXTURES) {
    const { out: dir } = await convertModelFixture(fixture);
    for (const c of configurations) {
      const model = await loadLocalModel({ dir, backend: "native", adapters: "all", precision: c.precision, overrides: c.overrides });
      try {
        for (const r of await referenceFidelity(model, join(MODEL_FIXTURES, fixture, "reference.safetensors"))) rows.push({ fixture, configuration: c.name, ...r });
      } finally {
        model.dispose();
      }
    }
  }
  return rows;
}

async function fidelity(): Promise<void> {
  const rows = await fixtureFidelity();
  out("| configuration | fixture | run | max abs Δ | min cosine | mean cosine |");
  out("| --- | --- | --- | --- | --- | --- |");
  for (const r of rows) out(`| ${r.configuration} | ${r.fixture} | ${r.run} | ${r.maxAbs.toExponential(2)} | ${r.minCosine.toFixed(6)} | ${r.meanCosine.toFixed(6)} |`);
  out();
  out("worst over every fixture run:");
  for (const c of CONFIGURATIONS) {
    const of = rows.filter((r) => r.configuration === c.name);
    out(
      `  ${c.name.padEnd(42)} max |Δ| ${Math.max(...of.map((r) => r.maxAbs)).toExponential(2)}  min cos ${Math.min(...of.map((r) => r.minCosine)).toFixed(6)}  lowest mean cos ${Math.min(...of.map((r) => r.meanCosine)).toFixed(6)}`,
    );
  }
}

/** The full-size model (12 layers, where the fixtures have 2-3): each configuration's vectors of the 32-paper corpus
 *  against this project's fp32 (itself within 1e-5 of PyTorch: test/parity). */
async function fullFidelity(): Promise<void> {
  const { model } = await ensureFullModel((l) => process.stderr.write(`${l}\n`));
  const batches = makeWorkloads({ corpusPapers: 32, lengths: [], batchSizes: [] })[0].batches;
  const vectors = async (c: Configuration) => {
    const engine = await loadLocalModel({ dir: model, backend: "native", adapters: [ADAPTER], precision: c.precision, overrides: c.overrides });
    const values: number[] = [];
    for (const b of batches) for (const v of await engine.embedIds(b, ADAPTER)) values.push(...v);
    engine.dispose();
    return Float32Array.from(values);
  };
  const exact = await vectors(CONFIGURATIONS[0]);
  const hidden = 768;
  let neighbours = 0;
  for (let i = 0; i + 1 < exact.length / hidden; i++)
    neighbours += compareVectors(exact.subarray(i * hidden, (i + 1) * hidden), exact.subarray((i + 1) * hidden, (i + 2) * hidden), hidden).meanCosine;
  out(
    `full-size model, 32 papers (${ADAPTER}), against fp32; for scale, the mean cosine between two of its papers' fp32 vectors is ${(neighbours / (exact.length / hidden - 1)).toFixed(4)} (random weights)`,
  );
  out("| configuration | max abs Δ | min cosine | mean cosine |");
  out("| --- | --- | --- | --- |");
  for (const c of CONFIGURATIONS.slice(1)) {
    const r = compareVectors(await vectors(c), exact, hidden);
    out(`| ${c.name} | ${r.maxAbs.toExponential(2)} | ${r.minCosine.toFixed(6)} | ${r.meanCosine.toFixed(6)} |`);
  }
}

// --- speed ---

async function speed(): Promise<void> {
  const repeats = flag("repeats", 3);
  const { model } = await ensureFullModel((l) => process.stderr.write(`${l}\n`));
  const workloads = makeWorkloads({ corpusPapers: 32, lengths: [256], batchSizes: [8] });
  // The three precisions as they load by default, and int8 with every weight product in int8 (less fidelity: the
  // measurement the default was chosen against).
  const configurations: Configuration[] = [
    { name: "fp32", precision: "fp32" },
    { name: "bf16", precision: "bf16" },
    { name: "int8", precision: "int8" },
    { name: "int8-all", precision: "int8", overrides: { weights: EVERY_WEIGHT_INT8 } },
  ];
  const precisions = configurations.map((c) => c.name);
  const engines = new Map<string, LocalModel>();
  for (const c of configurations) engines.set(c.name, await loadLocalModel({ dir: model, backend: "native", adapters: [ADAPTER], precision: c.precision, overrides: c.overrides }));
  out(`full-size model, ${ADAPTER}, in-process, interleaved: ${precisions.join(", ")} (int8-all: every weight product in int8); ${repeats} repeats`);
  for (const e of engines.values()) for (const b of workloads[0].batches.slice(0, 1)) await e.embedIds(b, ADAPTER); // warm-up
  const seconds = new Map<string, number[]>();
  for (let r = 0; r < repeats; r++) {
    for (const w of workloads) {
      for (const p of precisions) {
        const e = engines.get(p)!;
        const start = performance.now();
        for (const b of w.batches) await e.embedIds(b, ADAPTER);
        const s = (performance.now() - start) / 1000;
        const key = `${w.name} ${p}`;
        seconds.set(key, [...(seconds.get(key) ?? []), s]);
        process.stderr.write(`  repeat ${r + 1} ${key}: ${(papersIn(w) / s).toFixed(2)} papers/s\n`);
      }
    }
  }
  out("| workload | precision | papers/s (best) | papers/s (each repeat) | × fp32 (best) |");
  out("| --- | --- | --- | --- | --- |");
  for (const w of workloads) {
    const best = (p: string) => papersIn(w) / Math.min(...seconds.get(`${w.name} ${p}`)!);
    for (const p of precisions) {
      const each = seconds.get(`${w.name} ${p}`)!.map((s) => (papersIn(w) / s).toFixed(2));
      out(`| ${w.name} (${papersIn(w)} papers) | ${p} | ${best(p).toFixed(2)} | ${each.join(", ")} | ${(best(p) / best("fp32")).toFixed(2)} |`);
    }
  }
  out(`resident packed weights: ${(loadAddon().reducedBytes() / 2 ** 20).toFixed(0)} MiB bf16 + int8 (every model above loaded together)`);
  for (const e of engines.values()) e.dispose();
}

// --- the bare products ---

function matmul(): void {
  out("| product (m×k·k×n) | fp32 GFLOP/s | bf16 GOP/s | int8 GOP/s | bf16 × fp32 | int8 × fp32 |");
  out("| --- | --- | --- | --- | --- | --- |");
  for (const [m, k, n] of [
    [2048, 768, 3072],
    [2048, 3072, 768],
    [2048, 768, 768],
    [256, 768, 3072],
  ]) {
    const g = (["fp32", "bf16", "int8"] as const).map((p) => packedMatmulGops(p, m, k, n));
    out(`| ${m}×${k}·${k}×${n} | ${g[0].toFixed(0)} | ${g[1].toFixed(0)} | ${g[2].toFixed(0)} | ${(g[1] / g[0]).toFixed(2)} | ${(g[2] / g[0]).toFixed(2)} |`);
  }
}

// --- profile ---

async function profile(precision: Precision): Promise<void> {
  const { model } = await ensureFullModel((l) => process.stderr.write(`${l}\n`));
  const p = await profileForward(model, 8, 256, "native", precision);
  const kernelMs = p.kinds.reduce((s, k) => s + k.ms, 0);
  const products = p.kinds.filter((k) => k.gflops !== undefined).reduce((s, k) => s + k.ms, 0);
  out(`profile, native ${precision}, 8 × 256 tokens: wall ${p.wallMs.toFixed(0)} ms, kernels ${kernelMs.toFixed(0)} ms, outside kernels ${(p.wallMs - kernelMs).toFixed(0)} ms`);
  out(`matrix products: ${products.toFixed(0)} ms = ${((100 * products) / p.wallMs).toFixed(1)} % of the wall`);
  out("| op kind | calls | ms | % of wall | GOP/s |");
  out("| --- | --- | --- | --- | --- |");
  for (const k of p.kinds.filter((x) => x.ms >= 0.5))
    out(`| ${k.kind} | ${k.calls} | ${k.ms.toFixed(1)} | ${((100 * k.ms) / p.wallMs).toFixed(1)} | ${k.gflops === undefined ? "" : k.gflops.toFixed(0)} |`);
}

async function main(): Promise<void> {
  const command = process.argv[2];
  for (const line of header()) out(line);
  out();
  if (command === "fidelity") await fidelity();
  else if (command === "full-fidelity") await fullFidelity();
  else if (command === "speed") await speed();
  else if (command === "matmul") matmul();
  else if (command === "profile") await profile((process.argv[3] as Precision | undefined) ?? "bf16");
  else if (command === "retrieval") await (await import("./precisionRetrieval")).retrieval(out, flag("papers", 2000), flag("queries", 200));
  else throw new Error("usage: precision.ts {fidelity|full-fidelity|speed|matmul|profile [precision]|retrieval}");
}

if (require.main === module)
  main().catch((e: Error) => {
    process.stderr.write(`${e.stack ?? e.message}\n`);
    process.exit(1);
  });
