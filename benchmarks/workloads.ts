// The benchmark's inputs, as token ids so every engine gets the very same batches (tokenization is
// measured separately by benchmarks/tokenize.ts). Deterministic: a fixed seed, no real text needed.
import { seededGaussian, seededRandom } from "../convert/seededRandom";
import { FULL_CONFIG } from "./fullModel";

export interface Workload {
  name: string;
  /** "corpus", or the fixed sequence length. */
  length: "corpus" | number;
  batchSize: number;
  /** Length-sorted batches of `[CLS] … [SEP]` id lists (the demo vocabulary's ids 2 and 3). */
  batches: number[][][];
}

export interface WorkloadSizes {
  corpusPapers: number;
  lengths: number[];
  batchSizes: number[];
}

export const FULL_SIZES: WorkloadSizes = { corpusPapers: 32, lengths: [64, 128, 256, 512], batchSizes: [1, 8, 32] };
/** `--quick`: checks that every engine runs, in a minute or two; its figures mean little. */
export const QUICK_SIZES: WorkloadSizes = { corpusPapers: 4, lengths: [64], batchSizes: [1, 2] };
/** Papers per batch on the realistic corpus: the library's default. */
export const CORPUS_BATCH = 8;
const CLS = 2;
const SEP = 3;
/** Word pieces are drawn above the demo vocabulary's own tokens, from the padded full-size table. */
const FIRST_PIECE = 1000;

function sequence(length: number, u: () => number): number[] {
  const ids = [CLS];
  while (ids.length < length - 1) ids.push(FIRST_PIECE + Math.floor(u() * (FULL_CONFIG.vocab_size - FIRST_PIECE)));
  ids.push(SEP);
  return ids;
}

/** Title + abstract token counts: log-normal (median ~225, mean ~250), cut at 512 as the tokenizer truncates. */
export function corpusLengths(n: number, seed: number): number[] {
  const normal = seededGaussian(seed);
  return Array.from({ length: n }, () => Math.max(16, Math.min(512, Math.round(Math.exp(5.42 + 0.45 * normal())))));
}

function batched(seqs: number[][], batchSize: number): number[][][] {
  const sorted = [...seqs].sort((a, b) => a.length - b.length);
  return Array.from({ length: Math.ceil(sorted.length / batchSize) }, (_, i) => sorted.slice(i * batchSize, (i + 1) * batchSize));
}

/** Each fixed length × batch size (two batches below 32, so two workers have one each; one batch of 32),
 *  then the realistic corpus: last, so that no engine's first use of a long shape falls in it. */
export function makeWorkloads(sizes: WorkloadSizes, seed = 7): Workload[] {
  const u = seededRandom(seed);
  const corpus = corpusLengths(sizes.corpusPapers, seed + 1).map((n) => sequence(n, u));
  const out: Workload[] = [];
  for (const length of sizes.lengths) {
    for (const batchSize of sizes.batchSizes) {
      const papers = batchSize >= 32 ? batchSize : 2 * batchSize;
      const seqs = Array.from({ length: papers }, () => sequence(length, u));
      out.push({ name: `${length}x${batchSize}`, length, batchSize, batches: batched(seqs, batchSize) });
    }
  }
  out.push({ name: "corpus", length: "corpus", batchSize: CORPUS_BATCH, batches: batched(corpus, CORPUS_BATCH) });
  return out;
}

export function papersIn(w: Workload): number {
  return w.batches.reduce((n, b) => n + b.length, 0);
}
