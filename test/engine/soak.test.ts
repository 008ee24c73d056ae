// A shortened soak on the demo model: 10 000 embeddings with an adapter switch every 4 batches. tf.memory() must
// not move at all, RSS must stay flat, and the probe papers' vectors at the end must equal those at the start.
// The long run is benchmarks/soak.ts (README, "Reliability").
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import type { SoakResult, SoakSample } from "../../benchmarks/soak";

/**
 * RSS growth allowed between the first and the last quarter of the run, sampled after a full GC. Measured here:
 * under 2 MB over 12 800 embeddings; a leak of 1 KB per embedding (a retained row of activations) would add 10 MB.
 */
const RSS_GROWTH_LIMIT_MB = 8;

function table(samples: SoakSample[]): string {
  return samples.map((s) => `${s.embedded}\t${s.numTensors}\t${s.numBytes}\t${s.rssMB.toFixed(1)} MB`).join("\n");
}

/** The soak in a process of its own: RSS is the whole process's, and a jest worker carries what the suites it ran
 *  before left in its heap (a one-off 16 MB step of that kind was seen mid-soak in a full run). */
function soakInOwnProcess(): SoakResult {
  const script = `require(${JSON.stringify(require.resolve("ts-node"))}).register({ transpileOnly: true, swc: true });
const { Specter2 } = require(${JSON.stringify(join(__dirname, "..", "..", "src", "specter2.ts"))});
const { runSoak } = require(${JSON.stringify(join(__dirname, "..", "..", "benchmarks", "soak.ts"))});
Specter2.load(${JSON.stringify(join(__dirname, "..", "..", "weights", "specter2-tiny"))}, { workers: 0, backend: "wasm" }).then(async (model) => {
  const result = await runSoak(model, { embeddings: 10000, callSize: 128, batchSize: 32, maxLength: 24, sampleEvery: 6 });
  await model.close();
  process.stdout.write("RESULT " + JSON.stringify(result));
});`;
  const r = spawnSync(process.execPath, ["--expose-gc", "-e", script], { encoding: "utf8", maxBuffer: 1 << 24 });
  expect(r.status).toBe(0);
  return JSON.parse(r.stdout.slice(r.stdout.indexOf("RESULT ") + 7)) as SoakResult;
}

test("10 000 embeddings with adapter switches leak nothing and change nothing", () => {
  const result = soakInOwnProcess();
  const { samples } = result;
  process.stdout.write(`soak (embedded, numTensors, numBytes, RSS), ${result.seconds.toFixed(1)} s:\n${table(samples)}\n`);
  expect(samples.length).toBeGreaterThanOrEqual(12);
  // Not one tensor or byte more after 10 000 embeddings than after the warm-up.
  for (const s of samples) expect([s.numTensors, s.numBytes]).toEqual([samples[0].numTensors, samples[0].numBytes]);
  const quarter = Math.floor(samples.length / 4);
  const early = Math.max(...samples.slice(1, 1 + quarter).map((s) => s.rssMB));
  const late = Math.max(...samples.slice(-quarter).map((s) => s.rssMB));
  expect(late - early).toBeLessThan(RSS_GROWTH_LIMIT_MB);
  // Same inputs, same batches: the vectors must be bit-identical, not merely close.
  expect(result.probeMaxDiff).toBe(0);
});
