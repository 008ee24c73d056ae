// Memory, as a ratio that fails on regression (not a time): `specter2 embed` of 48 papers (50–480 words, batches
// of 8) on the full-width fixture (BERT-base width, 2 layers: 58 MiB of float32 weights) reports its peak RSS, and
// that peak over the weight bytes stays under a bound set from measurement.
import { spawnSync } from "node:child_process";
import { mkdtempSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { seededRandom } from "../../convert/seededRandom";
import { convertModelFixture } from "../helpers/modelFixtures";
import { NATIVE_BUILT } from "../helpers/nativeBackends";

const BIN = join(__dirname, "..", "..", "dist", "src", "cli", "main.js");

/** Peak RSS as a multiple of the weights' bytes. Most of it is Node and tfjs themselves with so small a model, and
 *  inside the full suite (other files busy on both cores, the garbage collector behind) it runs well above a run
 *  alone; the bound sits above what the suite has shown and still catches an unbounded output pool, which held tens
 *  of times the weights. Finer regressions, and the figures themselves, are benchmarks/memory.ts's
 *  (benchmarks/RESULTS.md, "Memory"). */
const BOUND = { native: 14, wasm: 14 };

it(`peak RSS of an embed run over its weight bytes stays within ${NATIVE_BUILT ? BOUND.native : BOUND.wasm}×`, async () => {
  const { out } = await convertModelFixture("full_width");
  const weights = statSync(join(out, "model.safetensors")).size + statSync(join(out, "adapters", "proximity.safetensors")).size;
  const dir = mkdtempSync(join(tmpdir(), "specter2-memory-"));
  const random = seededRandom(48);
  const words = "graph citation neural embedding protein model data network learning paper".split(" ");
  const lines = Array.from({ length: 48 }, (_, i) => {
    const n = 50 + Math.floor(random() * 430);
    return JSON.stringify({ id: i, title: `paper ${i}`, abstract: Array.from({ length: n }, () => words[Math.floor(random() * words.length)]).join(" ") });
  });
  writeFileSync(join(dir, "papers.jsonl"), `${lines.join("\n")}\n`);
  const backend = NATIVE_BUILT ? "native" : "wasm";
  const r = spawnSync(process.execPath, [BIN, "embed", "--model", out, "--input", join(dir, "papers.jsonl"), "--output", join(dir, "out.jsonl"), "--backend", backend], { encoding: "utf8" });
  expect(r.status).toBe(0);
  const peak = /peak RSS (\d+) MiB/.exec(r.stderr);
  expect(peak).not.toBeNull();
  const ratio = (Number(peak![1]) * 2 ** 20) / weights;
  expect(ratio).toBeGreaterThan(1); // the weights themselves are resident: the figure is real
  expect(ratio).toBeLessThan(BOUND[backend]);
});
