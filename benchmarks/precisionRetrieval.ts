// Retrieval at reduced precision on the full-size model (benchmarks/fullModel.ts: SPECTER2's shape, random weights):
// N generated papers embedded with proximity and Q queries with adhoc_query, at fp32, bf16 and int8; per query the
// papers ranked by dot product, each precision's ranking against fp32's: top-10 overlap and Spearman's rank
// correlation over every paper. Also the per-paper cosine to the fp32 vector (12 layers, where the fixtures have 2-3).
// Queries are the first 8-32 tokens of a random paper, so each has a paper it came from.
//   npx ts-node --transpile-only benchmarks/precision.ts retrieval [--papers 2000 --queries 200]
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Precision } from "../src/backend/constants";
import { seededRandom } from "../convert/seededRandom";
import { Specter2 } from "../src/specter2";
import { compareVectors } from "./fidelity";
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

export async function retrieval(out: (line: string) => void, paperCount: number, queryCount: number): Promise<void> {
  const { model } = await ensureFullModel((l) => process.stderr.write(`${l}\n`));
  const corpus = papers(paperCount, 2026);
  const asked = queries(corpus, queryCount, 17);
  const precisions: Precision[] = ["fp32", "bf16", "int8"];
  const vectors = new Map<Precision, { papers: Float32Array[]; queries: Float32Array[]; seconds: number }>();
  for (const precision of precisions) {
    // Kept in benchmarks/.cache, so an interrupted run resumes with the precisions already embedded.
    const cached = join(CACHE, `retrieval-${precision}-${paperCount}-${queryCount}.json`);
    if (existsSync(cached)) {
      const c = JSON.parse(readFileSync(cached, "utf8")) as { papers: number[][]; queries: number[][]; seconds: number };
      vectors.set(precision, { papers: c.papers.map((v) => Float32Array.from(v)), queries: c.queries.map((v) => Float32Array.from(v)), seconds: c.seconds });
      continue;
    }
    const engine = await Specter2.load(model, { workers: 0, backend: "native", precision, adapters: ["proximity", "adhoc_query"] });
    const start = performance.now();
    const p = await embedAll(engine, corpus, "proximity");
    const q = await embedAll(engine, asked, "adhoc_query");
    const seconds = (performance.now() - start) / 1000;
    vectors.set(precision, { papers: p, queries: q, seconds });
    writeFileSync(cached, JSON.stringify({ papers: p.map((v) => Array.from(v)), queries: q.map((v) => Array.from(v)), seconds }));
    process.stderr.write(`  ${precision}: ${paperCount} papers and ${queryCount} queries in ${seconds.toFixed(0)} s\n`);
    await engine.close();
  }
  const fp32 = vectors.get("fp32")!;
  const tokens = corpus.reduce((s, p) => s + p.length, 0);
  out(`full-size model (random weights), ${paperCount} papers (mean ${(tokens / paperCount).toFixed(0)} tokens, proximity), ${queryCount} queries (adhoc_query), ranked by dot product`);
  out("| precision | vector cosine to fp32: min / mean (papers) | min / mean (queries) | top-10 overlap with fp32: mean / min | Spearman ρ vs fp32: mean / min | time (embedding all) |");
  out("| --- | --- | --- | --- | --- | --- |");
  for (const precision of precisions) {
    const v = vectors.get(precision)!;
    const flat = (xs: Float32Array[]) => Float32Array.from(xs.flatMap((x) => Array.from(x)));
    const pc = compareVectors(flat(v.papers), flat(fp32.papers), FULL_CONFIG.hidden_size);
    const qc = compareVectors(flat(v.queries), flat(fp32.queries), FULL_CONFIG.hidden_size);
    const overlaps: number[] = [];
    const rhos: number[] = [];
    for (let i = 0; i < queryCount; i++) {
      const exact = scores(fp32.queries[i], fp32.papers);
      const ours = scores(v.queries[i], v.papers);
      const top = new Set(topK(exact, 10));
      overlaps.push(topK(ours, 10).filter((p) => top.has(p)).length / 10);
      rhos.push(spearman(exact, ours));
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    out(
      `| ${precision} | ${pc.minCosine.toFixed(6)} / ${pc.meanCosine.toFixed(6)} | ${qc.minCosine.toFixed(6)} / ${qc.meanCosine.toFixed(6)} | ${mean(overlaps).toFixed(3)} / ${Math.min(...overlaps).toFixed(1)} | ${mean(rhos).toFixed(5)} / ${Math.min(...rhos).toFixed(5)} | ${v.seconds.toFixed(0)} s |`,
    );
  }
}
