// Soak: tens of thousands of embeddings through one loaded model, switching adapters every few batches; prints
// tf.memory() and the process's RSS (after a full GC) as it goes, the rate, and how far the probe papers' vectors at
// the end are from those at the start. The checks that none of these moves are tests on the demo model
// (test/engine/soak.test.ts, test/reliability/soak.test.ts, through runSoak below); this measures any model:
//   npx ts-node --transpile-only benchmarks/soak.ts [--model DIR] [--embeddings N] [--backend wasm] [--max-length L]
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import * as tf from "@tensorflow/tfjs-core";
import type { BackendChoice } from "../src/engine/options";
import { Specter2 } from "../src/node/specter2";

export interface SoakOptions {
  embeddings: number;
  /** Inputs per embed call; the adapter changes with every call, so every callSize / batchSize batches. */
  callSize: number;
  batchSize: number;
  maxLength?: number;
  /** Take a sample every this many embed calls. */
  sampleEvery: number;
  onSample?: (sample: SoakSample) => void;
}

export interface SoakSample {
  embedded: number;
  seconds: number;
  numTensors: number;
  numBytes: number;
  rssMB: number;
  heapUsedMB: number;
}

export interface SoakResult {
  samples: SoakSample[];
  /** Largest |difference| between the probes' vectors before and after, over every adapter. */
  probeMaxDiff: number;
  seconds: number;
}

const WORDS = (
  "graph neural network protein folding citation transformer adapter embedding retrieval scientific document " +
  "bayesian inference climate model catalytic reduction single-cell sequencing contrastive learning attention"
).split(" ");

/** Deterministic paper-like texts of 3 to 3 + spread words (a linear congruential generator, so runs repeat). */
export function soakTexts(count: number, spread: number, seed = 1): string[] {
  let state = seed;
  const next = () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  return Array.from({ length: count }, () => {
    const n = 3 + Math.floor(next() * spread);
    return Array.from({ length: n }, () => WORDS[Math.floor(next() * WORDS.length)]).join(" ");
  });
}

/**
 * A full garbage collection before each RSS sample: without it RSS climbs by about 1 MB per 1000 embeddings
 * of garbage V8 has not yet bothered to collect, which hides or fakes a leak. (The flag exposes gc() to new contexts.)
 */
setFlagsFromString("--expose-gc");
const collectGarbage = runInNewContext("gc") as () => void;

export async function runSoak(model: Specter2, options: SoakOptions): Promise<SoakResult> {
  const adapters: (string | null)[] = [...model.adapterNames, null];
  const probes = soakTexts(16, 40, 99);
  const embedProbes = () => Promise.all(adapters.map((adapter) => model.embed(probes, { adapter, batchSize: 8, maxLength: options.maxLength })));
  const before = await embedProbes(); // also the warm-up: kernels compiled, wasm memory grown
  const texts = soakTexts(options.callSize * 64, 40);
  const samples: SoakSample[] = [];
  const started = performance.now();
  const sample = (embedded: number) => {
    collectGarbage();
    const memory = tf.memory();
    const usage = process.memoryUsage();
    const s = {
      embedded,
      seconds: (performance.now() - started) / 1000,
      numTensors: memory.numTensors,
      numBytes: memory.numBytes,
      rssMB: usage.rss / 2 ** 20,
      heapUsedMB: usage.heapUsed / 2 ** 20,
    };
    samples.push(s);
    options.onSample?.(s);
  };
  sample(0);
  let embedded = 0;
  for (let call = 0; embedded < options.embeddings; call++) {
    const start = (call * options.callSize) % texts.length;
    const inputs = texts.slice(start, start + Math.min(options.callSize, options.embeddings - embedded));
    await model.embed(inputs, { adapter: adapters[call % adapters.length], batchSize: options.batchSize, maxLength: options.maxLength });
    embedded += inputs.length;
    if ((call + 1) % options.sampleEvery === 0) sample(embedded);
  }
  if (samples[samples.length - 1].embedded !== embedded) sample(embedded);
  const after = await embedProbes();
  let probeMaxDiff = 0;
  before.forEach((vectors, a) =>
    vectors.forEach((v, i) =>
      v.forEach((x, d) => {
        probeMaxDiff = Math.max(probeMaxDiff, Math.abs(x - after[a][i][d]));
      }),
    ),
  );
  return { samples, probeMaxDiff, seconds: (performance.now() - started) / 1000 };
}

function argument(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 && process.argv[at + 1] !== undefined ? process.argv[at + 1] : fallback;
}

async function main(): Promise<void> {
  const dir = argument("model", "weights/specter2-tiny");
  const model = await Specter2.load(dir, { workers: 0, backend: argument("backend", "wasm") as BackendChoice });
  const embeddings = Number(argument("embeddings", "50000"));
  const maxLength = Number(argument("max-length", "128"));
  process.stdout.write(`soak: ${dir} (hidden ${model.hiddenSize}, ${model.config.num_hidden_layers} layers) on ${model.backend.name}, ${embeddings} embeddings\n`);
  process.stdout.write("embedded\tseconds\tnumTensors\tnumBytes\trssMB\theapUsedMB\n");
  const result = await runSoak(model, {
    embeddings,
    callSize: 64,
    batchSize: 16,
    maxLength,
    sampleEvery: Math.max(1, Math.round(embeddings / 64 / 25)),
    onSample: (s) => process.stdout.write(`${s.embedded}\t${s.seconds.toFixed(1)}\t${s.numTensors}\t${s.numBytes}\t${s.rssMB.toFixed(1)}\t${s.heapUsedMB.toFixed(1)}\n`),
  });
  const rss = result.samples.map((s) => s.rssMB);
  const tensors = new Set(result.samples.map((s) => `${s.numTensors}/${s.numBytes}`));
  process.stdout.write(
    `done: ${embeddings} embeddings in ${result.seconds.toFixed(1)} s (${(embeddings / result.seconds).toFixed(1)}/s); ` +
      `tf.memory() tensors/bytes over the run: ${[...tensors].join(", ")}; RSS ${Math.min(...rss).toFixed(1)}–${Math.max(...rss).toFixed(1)} MB ` +
      `(first ${rss[0].toFixed(1)}, last ${rss[rss.length - 1].toFixed(1)}); probe vectors end vs start: max |diff| ${result.probeMaxDiff}\n`,
  );
  await model.close();
}

if (require.main === module) {
  main().catch((e: Error) => {
    process.stderr.write(`soak: ${e.stack}\n`);
    process.exit(1);
  });
}
