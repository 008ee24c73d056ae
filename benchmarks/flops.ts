// The model's work per sequence, counted as 2 FLOPs per multiply-add in its matrix products: the projections,
// the feed-forward, attention's two products and the output adapter. LayerNorm, softmax, GELU and the
// embedding lookup add well under 1 % and are left out.
import type { BertConfig } from "../src/model/config";

/** The adapter's bottleneck: hidden_size / 16 (SPECTER2's "pfeiffer" adapters). */
const ADAPTER_REDUCTION = 16;

export function flopsPerSequence(c: BertConfig, length: number): number {
  const h = c.hidden_size;
  const projections = 4 * 2 * length * h * h;
  const feedForward = 2 * 2 * length * h * c.intermediate_size;
  const attention = 2 * 2 * length * length * h;
  const adapter = 2 * 2 * length * h * (h / ADAPTER_REDUCTION);
  return c.num_hidden_layers * (projections + feedForward + attention + adapter);
}

/** Useful work of a list of sequences: each at its own length, padding not counted. */
export function flopsOf(c: BertConfig, seqs: number[][]): number {
  return seqs.reduce((sum, s) => sum + flopsPerSequence(c, s.length), 0);
}
