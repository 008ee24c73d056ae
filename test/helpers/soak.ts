// The soak of benchmarks/soak.ts (embeddings through one loaded model, switching adapters, sampling tf.memory() and
// RSS after a full GC) in a process of its own, and what a run that leaks nothing and changes nothing shows.
// test/engine/soak.test.ts runs a short one, test/reliability/soak.test.ts a long one.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import type { SoakOptions, SoakResult, SoakSample } from "../../benchmarks/soak";
import { DEMO_MODEL, ROOT } from "./builtCli";

/**
 * RSS growth allowed between the first and the last quarter of the run, sampled after a full GC. Measured here:
 * far less; a leak of 1 KB per embedding (a retained row of activations) would add 10 MB every 10 000 embeddings.
 */
const RSS_GROWTH_LIMIT_MB = 8;

/** The soak on the demo model (wasm, no worker) in a process of its own: RSS is the whole process's, and a jest
 *  worker carries what the suites it ran before left in its heap (a one-off step of that kind was seen mid-soak in a
 *  full run). */
export function soakInOwnProcess(options: Omit<SoakOptions, "onSample">, timeoutMs: number): SoakResult {
  const script = `require(${JSON.stringify(require.resolve("ts-node"))}).register({ transpileOnly: true, swc: true });
const { Specter2 } = require(${JSON.stringify(join(ROOT, "src", "node", "specter2.ts"))});
const { runSoak } = require(${JSON.stringify(join(ROOT, "benchmarks", "soak.ts"))});
Specter2.load(${JSON.stringify(DEMO_MODEL)}, { workers: 0, backend: "wasm" }).then(async (model) => {
  const result = await runSoak(model, ${JSON.stringify(options)});
  await model.close();
  process.stdout.write("RESULT " + JSON.stringify(result));
});`;
  const r = spawnSync(process.execPath, ["--expose-gc", "-e", script], { encoding: "utf8", maxBuffer: 1 << 24, timeout: timeoutMs });
  expect(r.status).toBe(0);
  return JSON.parse(r.stdout.slice(r.stdout.indexOf("RESULT ") + 7)) as SoakResult;
}

function table(samples: SoakSample[]): string {
  return samples.map((s) => `${s.embedded}\t${s.numTensors}\t${s.numBytes}\t${s.rssMB.toFixed(1)} MB`).join("\n");
}

/** Prints the samples; then not one tensor or byte more at any sample than after the warm-up, RSS flat, and the probe
 *  papers' vectors at the end bit-identical to those at the start. */
export function expectLeakFree(result: SoakResult): void {
  const { samples } = result;
  process.stdout.write(`soak (embedded, numTensors, numBytes, RSS), ${result.seconds.toFixed(1)} s:\n${table(samples)}\n`);
  expect(samples.length).toBeGreaterThanOrEqual(12);
  for (const s of samples) expect([s.numTensors, s.numBytes]).toEqual([samples[0].numTensors, samples[0].numBytes]);
  const quarter = Math.floor(samples.length / 4);
  const early = Math.max(...samples.slice(1, 1 + quarter).map((s) => s.rssMB));
  const late = Math.max(...samples.slice(-quarter).map((s) => s.rssMB));
  expect(late - early).toBeLessThan(RSS_GROWTH_LIMIT_MB);
  // Same inputs, same batches: the vectors must be bit-identical, not merely close.
  expect(result.probeMaxDiff).toBe(0);
}
