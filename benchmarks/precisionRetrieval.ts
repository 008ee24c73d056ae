// Retrieval at reduced precision on the full-size model (benchmarks/fullModel.ts: SPECTER2's shape, random weights):
// N generated papers embedded with proximity and Q queries with adhoc_query, at fp32, bf16 and int8; per query the
// papers ranked by dot product, each precision's ranking against fp32's: top-10 overlap and Spearman's rank
// correlation over every paper. Also the per-paper cosine to the fp32 vector (12 layers, where the fixtures have 2-3).
// Queries are the first 8-32 tokens of a random paper, so each has a paper it came from.
//   npx ts-node --transpile-only benchmarks/precision.ts retrieval [--papers 2000 --queries 200]
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Precision } from "../src/model/config";
import { seededRandom } from "../convert/seededRandom";
import { Specter2 } from "../src/node/specter2";
import { compareVectors } from "../test/helpers/fidelity";
import { CACHE, ensureFullModel, FULL_CONFIG } from "./fullModel";
import { corpusLengths } from "./workloads";

const CLS = 2;
const SEP = 3;
const FIRST_PIECE = 1000;
const BATCH = 8;

function papers(n: number, seed: number): number[][] {
  const u = seededRandom(seed);
  return corpusLengths(n, seed + 1).map((length) => {
    const ids = [CLS];
    while (ids.length < length - 1) ids.push(FIRST_PIECE + Math.floor(u() * (FULL_CONFIG.vocab_size - FIRST_PIECE)));
    ids.push(SEP);
    return ids;
  });
}

function queries(from: number[][], n: number, seed: number): number[][] {
  const u = seededRandom(seed);
  return Array.from({ length: n }, () => {
    const paper = from[Math.floor(u() * from.length)];
    const length = Math.min(paper.length - 2, 8 + Math.floor(u() * 25));
    return [CLS, ...paper.slice(1, 1 + length), SEP];
  });
}

/** Vectors in input order, computed in length-sorted batches. */
async function embedAll(engine: Specter2, inputs: number[][], adapter: string): Promise<Float32Array[]> {
  const order = inputs.map((_, i) => i).sort((a, b) => inputs[a].length - inputs[b].length);
  const out = new Array<Float32Array>(inputs.length);
  for (let i = 0; i < order.length; i += BATCH) {
    const rows = order.slice(i, i + BATCH);
    const vectors = await engine.embedBatch(
      rows.map((r) => inputs[r]),
      adapter,
    );
    rows.forEach((r, k) => (out[r] = vectors[k]));
  }
  return out;
}

function scores(query: Float32Array, index: Float32Array[]): Float64Array {
  return Float64Array.from(index, (p) => {
    let dot = 0;
    for (let c = 0; c < p.length; c++) dot += p[c] * query[c];
    return dot;
  });
}

function topK(s: Float64Array, k: number): number[] {
  return Array.from(s.keys())
    .sort((a, b) => s[b] - s[a])
    .slice(0, k);
}

function ranks(s: Float64Array): Float64Array {
  const order = Array.from(s.keys()).sort((a, b) => s[a] - s[b]);
  const r = new Float64Array(s.length);
  order.forEach((i, rank) => (r[i] = rank));
  return r;
}

/** Spearman's ρ (no ties among float scores): Pearson's correlation of the ranks. */
export function spearman(x: Float64Array, y: Float64Array): number {
  const rx = ranks(x);
  const ry = ranks(y);
  const n = x.length;
  let d2 = 0;
  for (let i = 0; i < n; i++) d2 += (rx[i] - ry[i]) ** 2;
  return 1 - (6 * d2) / (n * (n * n - 1));
}

const CHUNK = 200;

async function cachedChunk(name: string, compute: () => Promise<Float32Array[]>): Promise<{ vectors: Float32Array[]; seconds: number }> {
  const path = join(CACHE, `${name}.json`);
  if (existsSync(path)) {
    const c = JSON.parse(readFileSync(path, "utf8")) as { vectors: number[][]; seconds: number };
    return { vectors: c.vectors.map((v) => Float32Array.from(v)), seconds: c.seconds };
  }
  const start = performance.now();
  const vectors = await compute();
  const seconds = (performance.now() - start) / 1000;
  writeFileSync(path, JSON.stringify({ vectors: vectors.map((v) => Array.from(v)), seconds }));
  return { vectors, seconds };
}

export async function retrieval(out: (line: string) => void, paperCount: number, queryCount: number): Promise<void> {
  const { model } = await ensureFullModel((l) => process.stderr.write(`${l}\n`));
  const corpus = papers(paperCount, 2026);
  const asked = queries(corpus, queryCount, 17);
  const precisions: Precision[] = ["fp32", "bf16", "int8"];
  const vectors = new Map<Precision, { papers: Float32Array[]; queries: Float32Array[]; seconds: number }>();
  for (const precision of precisions) {
    // In chunks kept in benchmarks/.cache: an interrupted run resumes where it stopped.
    const engine = await Specter2.load(model, { workers: 0, backend: "native", precision, adapters: ["proximity", "adhoc_query"] });
    const p: Float32Array[] = [];
    let seconds = 0;
    for (let from = 0; from < paperCount; from += CHUNK) {
      const chunk = await cachedChunk(`retrieval-${precision}-${paperCount}-${from}`, () => embedAll(engine, corpus.slice(from, from + CHUNK), "proximity"));
      p.push(...chunk.vectors);
      seconds += chunk.seconds;
      process.stderr.write(`  ${precision}: papers ${from}–${from + chunk.vectors.length} (${chunk.seconds.toFixed(0)} s)\n`);
    }
    const q = await cachedChunk(`retrieval-${precision}-${paperCount}-queries-${queryCount}`, () => embedAll(engine, asked, "adhoc_query"));
    vectors.set(precision, { papers: p, queries: q.vectors, seconds: seconds + q.seconds });
    await engine.close();
  }
  const fp32 = vectors.get("fp32")!;
  const tokens = corpus.reduce((s, p) => s + p.length, 0);
  out(`full-size model (random weights), ${paperCount} papers (mean ${(tokens / paperCount).toFixed(0)} tokens, proximity), ${queryCount} queries (adhoc_query), ranked by dot product`);
  // Random weights give nearly parallel vectors (their mean pairwise cosine is printed): a ranking by dot product
  // only sees what differs between papers, so the cosines are given of the vectors less fp32's mean paper vector
  // too, and the score error against the spread of the scores (std of ours − fp32's over std of fp32's, per query).
  const hidden = FULL_CONFIG.hidden_size;
  const mean = new Float32Array(hidden);
  for (const v of fp32.papers) for (let c = 0; c < hidden; c++) mean[c] += v[c] / paperCount;
  const centered = (xs: Float32Array[]) => Float32Array.from(xs.flatMap((x) => Array.from(x, (v, c) => v - mean[c])));
  let pairs = 0;
  for (let i = 0; i + 1 < paperCount; i++) pairs += compareVectors(fp32.papers[i], fp32.papers[i + 1], hidden).meanCosine;
  out(`mean cosine between consecutive papers' fp32 vectors: ${(pairs / (paperCount - 1)).toFixed(4)}`);
  out(
    "| precision | vector cosine to fp32: min / mean (papers) | min / mean (queries) | centred papers: min / mean | score error / score spread (mean) | top-10 overlap with fp32: mean / min | Spearman ρ vs fp32: mean / min | time (embedding all) |",
  );
  out("| --- | --- | --- | --- | --- | --- | --- | --- |");
  for (const precision of precisions) {
    const v = vectors.get(precision)!;
    const flat = (xs: Float32Array[]) => Float32Array.from(xs.flatMap((x) => Array.from(x)));
    const pc = compareVectors(flat(v.papers), flat(fp32.papers), FULL_CONFIG.hidden_size);
    const qc = compareVectors(flat(v.queries), flat(fp32.queries), FULL_CONFIG.hidden_size);
    const cc = compareVectors(centered(v.papers), centered(fp32.papers), hidden);
    const overlaps: number[] = [];
    const rhos: number[] = [];
    const noise: number[] = [];
    const std = (xs: Float64Array) => {
      const m = xs.reduce((a, b) => a + b, 0) / xs.length;
      return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / xs.length);
    };
    for (let i = 0; i < queryCount; i++) {
      const exact = scores(fp32.queries[i], fp32.papers);
      const ours = scores(v.queries[i], v.papers);
      noise.push(std(ours.map((x, j) => x - exact[j])) / std(exact));
      const top = new Set(topK(exact, 10));
      overlaps.push(topK(ours, 10).filter((p) => top.has(p)).length / 10);
      rhos.push(spearman(exact, ours));
    }
    const average = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    out(
      `| ${precision} | ${pc.minCosine.toFixed(6)} / ${pc.meanCosine.toFixed(6)} | ${qc.minCosine.toFixed(6)} / ${qc.meanCosine.toFixed(6)} | ${cc.minCosine.toFixed(4)} / ${cc.meanCosine.toFixed(4)} | ${average(noise).toFixed(3)} | ${average(overlaps).toFixed(3)} / ${Math.min(...overlaps).toFixed(1)} | ${average(rhos).toFixed(5)} / ${Math.min(...rhos).toFixed(5)} | ${v.seconds.toFixed(0)} s |`,
    );
  }
}
