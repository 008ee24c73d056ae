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

/** Measured here (2 cores, Node 20, 2026-12-01): native 260 MiB = 4.5× the weights run alone (one resident copy of
 *  each weight matrix, the output pool bounded by recent passes, the weights read a tensor at a time; 5.3× before
 *  those), but 9.7× inside the full suite with the other test files busy on both cores (7.2–8.7× before). With the
 *  pool bounded by a pass's working set (issue 19): 4.4–4.7× alone (4.8× with the bound before it, the same day), and
 *  4.6–4.7× alone beside two busy CPU loops, so CPU contention alone does not explain the suite's figure; inside the
 *  suite, under 12× in one clean-clone CI run and 12.2× in the next. The cause is not pinned down; the garbage
 *  collector falling behind on a busy machine (arrays of kernels outside the pool wait for it) is suspected, not
 *  shown. wasm, with its default two workers (a model each): 11.6× alone. Most of native's figure is Node and tfjs
 *  themselves (~100 MiB with the tiny model). The bounds sit above every figure seen and still catch an unbounded
 *  pool (the old one could hold 2 GiB, 35× here); finer regressions are benchmarks/memory.ts's to show. */
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
