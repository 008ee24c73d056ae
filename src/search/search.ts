// Top-k over a streamed index: each row is scored against the query and only the k best are kept.
import type { RecordId } from "../pipeline/sink";
import type { IndexRow } from "./indexReader";
import type { Scorer } from "./score";
import { TopK } from "./topK";

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
