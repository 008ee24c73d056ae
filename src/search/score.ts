// Query–paper scores. SPECTER2 was evaluated on SciRepEval, whose search tasks (IREvaluator.retrieval in
// allenai/scirepeval evaluation/evaluator.py) rank candidates by Euclidean distance to the query
// (sklearn euclidean_distances, smaller is closer); so `l2` is the default. `dot` and `cosine` are offered
// for indexes built for other tools. Sums are taken in float64 so that ties and ~0 distances are exact
// to float32 input precision.
import { Specter2Error } from "../errors";

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
