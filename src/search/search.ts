// Ad-hoc search over an embedded index: the query–paper scores, the k best of a streamed index in O(k) memory, and
// the titles of the hits from the papers' JSONL.
//
// Scores: SPECTER2 was evaluated on SciRepEval, whose search tasks (IREvaluator.retrieval in allenai/scirepeval
// evaluation/evaluator.py) rank candidates by Euclidean distance to the query (sklearn euclidean_distances, smaller
// is closer); so `l2` is the default. `dot` and `cosine` are offered for indexes built for other tools. Sums are taken
// in float64 so that ties and ~0 distances are exact to float32 input precision.
import { checkOption } from "../engine/options";
import { Specter2Error } from "../errors";
import { readJsonlEntries } from "../io/jsonl";
import { toInputRecord } from "../io/records";
import type { RecordId } from "../pipeline/sink";
import type { IndexRow } from "./indexReader";

export const SCORE_NAMES = ["l2", "dot", "cosine"] as const;
export type ScoreName = (typeof SCORE_NAMES)[number];
export const DEFAULT_SCORE: ScoreName = "l2";

export interface Scorer {
  name: ScoreName;
  /** true for similarities (dot, cosine), false for distances (l2). */
  higherIsBetter: boolean;
  /** The score of one index row against the query this scorer was made for. */
  score(row: Float32Array): number;
}

export const SCORE_DESCRIPTIONS: Record<ScoreName, string> = {
  l2: "Euclidean distance, lower is closer (SciRepEval's search evaluation)",
  dot: "dot product, higher is closer",
  cosine: "cosine similarity, higher is closer",
};

export function makeScorer(name: ScoreName, query: Float32Array): Scorer {
  switch (name) {
    case "l2":
      return { name, higherIsBetter: false, score: (row) => Math.sqrt(squaredDistance(query, row)) };
    case "dot":
      return { name, higherIsBetter: true, score: (row) => dot(query, row) };
    case "cosine": {
      const queryNorm = Math.sqrt(dot(query, query));
      // A zero vector has no direction: it is as far as orthogonal from everything.
      return {
        name,
        higherIsBetter: true,
        score: (row) => {
          const norms = queryNorm * Math.sqrt(dot(row, row));
          return norms === 0 ? 0 : dot(query, row) / norms;
        },
      };
    }
    default:
      throw new Specter2Error("BAD_INPUT", `unknown score "${name as string}" (choose one of ${SCORE_NAMES.join(", ")})`, { field: "score" });
  }
}

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

function squaredDistance(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - b[i];
    s += d * d;
  }
  return s;
}

/** The k best items of a stream, in O(k) memory: a binary heap whose root is the worst item kept, so
 *  each new item is compared with the root and, when better, replaces it (O(log k)). */
export class TopK<T> {
  private readonly heap: T[] = [];

  /** `better(a, b)`: a ranks before b. It must be a strict total order for the result to be deterministic. */
  constructor(
    readonly k: number,
    private readonly better: (a: T, b: T) => boolean,
  ) {
    checkOption("k", k);
  }

  get size(): number {
    return this.heap.length;
  }

  push(item: T): void {
    const h = this.heap;
    if (h.length < this.k) {
      h.push(item);
      this.siftUp(h.length - 1);
    } else if (this.better(item, h[0])) {
      h[0] = item;
      this.siftDown(0);
    }
  }

  /** The kept items, best first. */
  sorted(): T[] {
    return [...this.heap].sort((a, b) => (this.better(a, b) ? -1 : this.better(b, a) ? 1 : 0));
  }

  // Heap order: a parent is never better than its children (the worst item sits at the root).
  private siftUp(i: number): void {
    const h = this.heap;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.better(h[parent], h[i])) break;
      [h[parent], h[i]] = [h[i], h[parent]];
      i = parent;
    }
  }

  private siftDown(i: number): void {
    const h = this.heap;
    for (;;) {
      let worst = i;
      for (const child of [2 * i + 1, 2 * i + 2]) {
        if (child < h.length && this.better(h[worst], h[child])) worst = child;
      }
      if (worst === i) return;
      [h[worst], h[i]] = [h[i], h[worst]];
      i = worst;
    }
  }
}

export interface Hit {
  /** 1 = best. */
  rank: number;
  id: RecordId;
  score: number;
  title?: string;
}

export interface SearchResult {
  hits: Hit[];
  /** Index rows scored. */
  scanned: number;
}

interface Candidate {
  id: RecordId;
  score: number;
  title?: string;
  /** Row number in the index: equal scores rank in index order, so results are deterministic. */
  row: number;
}

export async function searchIndex(rows: AsyncIterable<IndexRow>, scorer: Scorer, k: number): Promise<SearchResult> {
  const closer = scorer.higherIsBetter ? (a: number, b: number) => a > b : (a: number, b: number) => a < b;
  const best = new TopK<Candidate>(k, (a, b) => closer(a.score, b.score) || (a.score === b.score && a.row < b.row));
  let scanned = 0;
  for await (const { id, embedding, title } of rows) {
    best.push({ id, score: scorer.score(embedding), row: scanned++, ...(title === undefined ? {} : { title }) });
  }
  return {
    hits: best.sorted().map(({ id, score, title }, i) => ({ rank: i + 1, id, score, ...(title === undefined ? {} : { title }) })),
    scanned,
  };
}

/** Titles for a few hits, from the papers JSONL the index was embedded from: one streamed pass that keeps only the
 *  titles asked for. Ids are worked out exactly as `specter2 embed` did (toInputRecord), so papers without an id
 *  field match by line number too. The title by id (as JSON, so 7 and "7" stay distinct, as they are in the index). */
export async function titlesFor(papersPath: string, ids: readonly RecordId[]): Promise<Map<string, string>> {
  const wanted = new Set(ids.map((id) => JSON.stringify(id)));
  const titles = new Map<string, string>();
  for await (const entry of readJsonlEntries(papersPath)) {
    // A line embed could not read has no row in the index: nothing to look up.
    if ("error" in entry) continue;
    let key: string;
    try {
      key = JSON.stringify(toInputRecord(entry.value, { source: papersPath, lineNumber: entry.lineNumber }).id);
    } catch {
      continue;
    }
    const title = (entry.value as { title?: unknown }).title;
    if (wanted.has(key) && typeof title === "string") titles.set(key, title);
    if (titles.size === wanted.size) break;
  }
  return titles;
}
