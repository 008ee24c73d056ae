// RESULTS.md from one run: machine and versions, the corpus table with ratios to the peers, throughput per
// fixed shape, memory, the issues' targets, and the wasm and native profiles.
import { flopsPerSequence } from "./flops";
import type { EngineRun, RunResults } from "./runResults";
import { cell } from "./runResults";
import { ONEDNN_SHAPE } from "./onednnRoofline";
import type { Profile } from "./profile";
import { ROOFLINE_SHAPE } from "./roofline";
import type { Workload } from "./workloads";
import { papersIn } from "./workloads";

const MiB = 1024 * 1024;
const f = (x: number, digits = 2) => x.toFixed(digits);
const pct = (x: number) => `${(100 * x).toFixed(0)} %`;

function table(head: string[], rows: string[][]): string {
  return [`| ${head.join(" | ")} |`, `|${head.map(() => "---").join("|")}|`, ...rows.map((r) => `| ${r.join(" | ")} |`)].join("\n");
}

function engine(r: RunResults, key: string): EngineRun | undefined {
  return r.engines.find((e) => e.engine === key);
}

function ratio(r: RunResults, e: EngineRun, w: Workload, peer: string): string {
  const a = cell(r, e, w);
  const p = engine(r, peer);
  const b = p && cell(r, p, w);
  return a && b ? `${f(a.papersPerSecond / b.papersPerSecond)}×` : "–";
}

function corpusSection(r: RunResults, w: Workload): string {
  const lengths = w.batches.flat().map((s) => s.length);
  const mean = lengths.reduce((a, b) => a + b, 0) / lengths.length;
  const rows = r.engines.flatMap((e) => {
    const c = cell(r, e, w);
    if (!c) return [];
    return [
      [
        e.label,
        String(e.threads),
        f(c.papersPerSecond),
        f(1000 / c.papersPerSecond, 0),
        f(c.gflops, 1),
        pct(c.rooflineFraction),
        ratio(r, e, w, "ort"),
        ratio(r, e, w, "torch"),
        ratio(r, e, w, "native"),
      ],
    ];
  });
  return `## Realistic corpus

${papersIn(w)} synthetic title+abstract lengths (log-normal, mean ${f(mean, 0)} tokens, ${Math.min(...lengths)}–${Math.max(...lengths)}), batches of ${w.batchSize} sorted by length.
Model GFLOP/s counts the useful work (each paper at its own length, padding not counted).
"% roofline" is that over the engine's ceiling: the wasm matmul roofline × its threads; for native (every precision), oneDNN's own large fp32 matmul on every core.

${table(["engine", "threads", "papers/s", "ms/paper", "model GFLOP/s", "% roofline", "× onnxruntime", "× PyTorch", "× native fp32"], rows)}`;
}

function fixedSection(r: RunResults): string {
  const fixed = r.workloads.filter((w) => w.length !== "corpus" && !w.name.endsWith("-sample"));
  const engines = r.engines.filter((e) => fixed.some((w) => cell(r, e, w)));
  const rows = fixed.map((w) => [
    String(w.length),
    String(w.batchSize),
    String(papersIn(w)),
    ...engines.map((e) => {
      const c = cell(r, e, w);
      return c ? `${f(c.papersPerSecond)} (${pct(c.rooflineFraction)})` : "–";
    }),
  ]);
  return `## Fixed lengths

Papers/s (and % of the engine's ceiling, as above) per sequence length and batch size; "–": not measured (see sample sizes).
The chart, [throughput.svg](throughput.svg), plots these at batch 8.

${table(["tokens", "batch", "papers", ...engines.map((e) => e.label)], rows)}`;
}

function memorySection(r: RunResults): string {
  const rows = r.engines.map((e) => {
    const perWorker = e.engine === "pool" ? e.peakRssBytes / e.threads : e.peakRssBytes;
    return [e.label, f(e.peakRssBytes / MiB, 0), e.engine === "pool" ? f(perWorker / MiB, 0) : "", f(perWorker / r.weightsBytes)];
  });
  return `## Memory

Peak RSS of each engine's process (worker threads included); weights: ${f(r.weightsBytes / MiB, 0)} MiB (base + proximity adapter, float32).

${table(["engine", "peak RSS (MiB)", "per worker (MiB)", "× weights (per worker)"], rows)}`;
}

function targetsSection(r: RunResults, corpus: Workload): string {
  const one = engine(r, "wasm");
  const pool = engine(r, "pool");
  const torch = engine(r, "torch");
  const c1 = one && cell(r, one, corpus);
  const cp = pool && cell(r, pool, corpus);
  const ct = torch && cell(r, torch, corpus);
  if (!one || !pool || !c1 || !cp) return "";
  const perWorkerRss = pool.peakRssBytes / pool.threads / r.weightsBytes;
  const rows = [
    ["≥ 85 % of roofline × cores (wasm, corpus)", `1 thread ${pct(c1.rooflineFraction)}; pool ${pct(cp.rooflineFraction)}`, cp.rooflineFraction >= 0.85 ? "met" : "not met"],
    [
      `≥ 1.8× from 1 core to ${pool.threads}`,
      `${f(cp.papersPerSecond / c1.papersPerSecond)}× (the bare matmul: ${f(r.rooflineParallelGflops / r.rooflineGflops)}×)`,
      cp.papersPerSecond / c1.papersPerSecond >= 1.8 ? "met" : "not met",
    ],
    ["≥ 1.0× PyTorch (wasm pool, corpus)", ct ? `${f(cp.papersPerSecond / ct.papersPerSecond)}×` : "–", ct && cp.papersPerSecond >= ct.papersPerSecond ? "met" : "not met"],
    ["peak RSS ≤ 1.5× weights per worker", `${f(perWorkerRss)}×`, perWorkerRss <= 1.5 ? "met" : "not met"],
  ];
  return `## Targets: the wasm path

${table(["target", "measured", ""], rows)}`;
}

function nativeTargetsSection(r: RunResults, corpus: Workload): string {
  const native = engine(r, "native");
  const ort = engine(r, "ort");
  const cn = native && cell(r, native, corpus);
  const co = ort && cell(r, ort, corpus);
  if (!cn || r.onednnGflops === undefined) return "";
  const rows = [
    ["≥ 1.0× onnxruntime-node (native, corpus)", co ? `${f(cn.papersPerSecond / co.papersPerSecond)}×` : "–", co && cn.papersPerSecond >= co.papersPerSecond ? "met" : "not met"],
    [
      "≥ 85 % of oneDNN's large matmul in model FLOP/s (native, corpus)",
      `${f(cn.gflops, 1)} of ${f(r.onednnGflops, 1)} GFLOP/s: ${pct(cn.rooflineFraction)}`,
      cn.rooflineFraction >= 0.85 ? "met" : "not met",
    ],
  ];
  return `## Targets: the native path

oneDNN's own ${ONEDNN_SHAPE.m}×${ONEDNN_SHAPE.k} · ${ONEDNN_SHAPE.k}×${ONEDNN_SHAPE.n} matmul through the addon, every core, weights pre-packed, best of 10: **${f(r.onednnGflops, 1)} GFLOP/s**.

${table(["target", "measured", ""], rows)}`;
}

function precisionTargetsSection(r: RunResults, corpus: Workload): string {
  const rate = (key: string) => {
    const e = engine(r, key);
    return e && cell(r, e, corpus)?.papersPerSecond;
  };
  const [fp32, bf16, int8, ort] = ["native", "native-bf16", "native-int8", "ort"].map(rate);
  if (!fp32 || !bf16 || !int8) return "";
  const amx = r.machine.isa?.[0].includes("AMX-BF16 yes") ?? false;
  const row = (target: string, x: number | undefined, bound: number) => [target, x === undefined ? "–" : `${f(x)}×`, x !== undefined && x >= bound ? "met" : "not met"];
  const rows = [
    row("bf16 ≥ 2.5× native fp32 (corpus)", bf16 / fp32, 2.5),
    row("bf16 ≥ 2× onnxruntime-node (corpus)", ort && bf16 / ort, 2),
    row("int8 ≥ 3.5× native fp32 (corpus)", int8 / fp32, 3.5),
  ];
  return `## Targets: reduced precision

The targets are set for a CPU with AMX; this one has ${amx ? "it" : "none (what bounds bf16 and int8 without it: ANALYSIS.md, Reduced precision)"}.

${table(["target", "measured", ""], rows)}`;
}

function profileSection(p: Profile, title: string, ceiling: string): string {
  const kernelMs = p.kinds.reduce((a, k) => a + k.ms, 0);
  const rows = p.kinds.filter((k) => k.ms >= kernelMs * 0.005).map((k) => [k.kind, String(k.calls), f(k.ms, 0), pct(k.ms / p.wallMs), k.gflops === undefined ? "" : f(k.gflops, 1)]);
  rows.push(["(outside kernels: JS, copies, tensor bookkeeping)", "", f(p.wallMs - kernelMs, 0), pct((p.wallMs - kernelMs) / p.wallMs), ""]);
  return `## ${title}

One forward pass, ${p.batch} × ${p.length} tokens, under \`tf.profile\` (kernel times summed per op kind;
ops under 0.5 % left out): wall ${f(p.wallMs, 0)} ms. GFLOP/s for the matrix products; ${ceiling}.

${table(["op kind", "calls", "ms", "% of wall", "GFLOP/s"], rows)}`;
}

export function renderResults(r: RunResults): string {
  const corpus = r.workloads.find((w) => w.length === "corpus")!;
  const m = r.machine;
  const flops = [64, 128, 256, 512].map((n) => [String(n), f(flopsPerSequence(r.config, n) / 1e9, 1)]);
  const sample = r.engines.map((e) => `${e.label}: ${e.results.map((x) => x.name).join(", ")}`).join("; ");
  return `# Benchmark results

${r.quick ? "**A `--quick` run: a check that every engine works; its figures mean little.**\n\n" : ""}Generated by \`npx ts-node --transpile-only benchmarks/run.ts\` on ${r.date} in ${f(r.wallSeconds / 60, 1)} min. Do not edit by hand: the
analysis is in [ANALYSIS.md](ANALYSIS.md).

- Machine: ${m.cpu}, ${m.cores} cores, ${f(m.memoryGiB, 0)} GiB. Load average before ${m.loadBefore.map((x) => f(x)).join(" ")}, after ${m.loadAfter.map((x) => f(x)).join(" ")}.
${m.isa ? `- ISA: ${m.isa.join("; ")}.\n` : ""}- Also running when the run started: ${m.otherProcesses.length ? m.otherProcesses.join("; ") : "nothing busy"}.
- Versions: ${Object.entries(r.versions)
    .map(([k, v]) => `${k} ${v}`)
    .join(", ")}.
- Model: SPECTER2's architecture (${r.config.hidden_size}/${r.config.num_hidden_layers}/${r.config.num_attention_heads}/${r.config.intermediate_size}, vocab ${r.config.vocab_size}) with random weights (benchmarks/fullModel.ts), proximity adapter, CLS pooling; the same weights in every engine.
- Roofline: one ${ROOFLINE_SHAPE.m}×${ROOFLINE_SHAPE.k} · ${ROOFLINE_SHAPE.k}×${ROOFLINE_SHAPE.n} matmul on tfjs-backend-wasm, one thread: **${f(r.rooflineGflops, 1)} GFLOP/s**; on ${m.cores} threads at once (one product each, summed): **${f(r.rooflineParallelGflops, 1)} GFLOP/s** (${f(r.rooflineParallelGflops / r.rooflineGflops)}× one thread).
- Model GFLOP per sequence (matrix products): ${flops.map(([n, g]) => `${n} tokens ${g}`).join(", ")}.
- Workloads measured per engine: ${sample}.

${corpusSection(r, corpus)}

${fixedSection(r)}

${memorySection(r)}

${targetsSection(r, corpus)}

${nativeTargetsSection(r, corpus)}

${precisionTargetsSection(r, corpus)}

${profileSection(r.profile, "Profile of the wasm path (one thread)", `the roofline is ${f(r.rooflineGflops, 1)}`)}
${r.nativeProfile && r.onednnGflops !== undefined ? `\n${profileSection(r.nativeProfile, `Profile of the native path (${r.machine.cores} threads)`, `oneDNN's large matmul reaches ${f(r.onednnGflops, 1)}`)}\n` : ""}`;
}
