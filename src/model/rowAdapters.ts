// The adapter of each row of a batch (null: the bare base), as a layer's two adapter sites read it. The base's
// work runs once over every row; at a site, each bottleneck present runs on its own rows and rows without one
// take the plain residual LayerNorm. The model runs a mixed batch with its rows ordered by adapter (`order`), so
// that each adapter's rows are one contiguous range: a site slices them (on the cpu and native backends a view,
// not a copy) and concatenates the results, where rows in any order would need gathers there and back (14 % of a
// pass on the native backend at 8 rows of 4 adapters, against 1 concatenation).
import * as tf from "@tensorflow/tfjs-core";
import type { Adapter, AdapterSite, Bottleneck } from "./adapter";
import type { LayerNorm } from "./layers";

export class RowAdapters {
  private constructor(
    /** Per row of the reordered batch; null: one adapter for all. */
    private readonly perRow: readonly (Adapter | null)[] | null,
    private readonly single: Adapter | null,
    /** Batch row k of the reordered batch is row order[k] of the caller's; null: the caller's order. */
    readonly order: readonly number[] | null,
  ) {}

  /** One adapter (or none) for the whole batch, or one per row. */
  static of(adapter: Adapter | null | readonly (Adapter | null)[] | undefined, batch: number): RowAdapters {
    if (!Array.isArray(adapter)) return new RowAdapters(null, (adapter as Adapter | null | undefined) ?? null, null);
    const rows = adapter as readonly (Adapter | null)[];
    if (rows.length !== batch) throw new Error(`${rows.length} adapters for a batch of ${batch} rows`);
    // A batch whose rows all name the same adapter computes exactly as a single-adapter batch.
    if (rows.every((a) => a === rows[0])) return new RowAdapters(null, rows[0] ?? null, null);
    // Rows grouped by adapter, the groups in order of first appearance, rows in their order within a group.
    const first = new Map<Adapter | null, number>();
    rows.forEach((a, k) => first.has(a) || first.set(a, k));
    const order = rows.map((_, k) => k).sort((a, b) => first.get(rows[a])! - first.get(rows[b])! || a - b);
    const grouped = order.every((row, k) => row === k);
    return new RowAdapters(
      order.map((k) => rows[k]),
      null,
      grouped ? null : order,
    );
  }

  /** Whether the rows use more than one adapter (counting the base as one). */
  get mixed(): boolean {
    return this.perRow !== null;
  }

  /** LN(h + input) where a row has no bottleneck at this site, the bottleneck where it has one. h, input:
   *  [batch · rowsPerItem, hidden] in the reordered batch, the rows of batch row b at b · rowsPerItem …;
   *  rowsPerItem: seq, or 1 for CLS rows. */
  apply(layer: number, site: AdapterSite, h: tf.Tensor2D, input: tf.Tensor2D, ln: LayerNorm, rowsPerItem: number): tf.Tensor2D {
    const run = (b: Bottleneck | undefined, x: tf.Tensor2D, res: tf.Tensor2D): tf.Tensor2D => (b ? b.forward(x, res, ln) : ln.forward(tf.add<tf.Tensor2D>(x, res)));
    if (this.perRow === null) return run(this.single?.at(layer, site), h, input);
    const runs = this.runs(layer, site);
    if (runs.length === 1) return run(runs[0].bottleneck, h, input);
    const width = h.shape[1];
    const parts = runs.map(({ bottleneck, start, end }) => {
      const begin: [number, number] = [start * rowsPerItem, 0];
      const size: [number, number] = [(end - start) * rowsPerItem, width];
      return run(bottleneck, tf.slice(h, begin, size), tf.slice(input, begin, [size[0], input.shape[1]]));
    });
    return tf.concat(parts, 0);
  }

  /** Maximal ranges [start, end) of reordered rows sharing this site's bottleneck (or its absence). */
  private runs(layer: number, site: AdapterSite): { bottleneck: Bottleneck | undefined; start: number; end: number }[] {
    const runs: { bottleneck: Bottleneck | undefined; start: number; end: number }[] = [];
    this.perRow!.forEach((adapter, row) => {
      const b = adapter?.at(layer, site);
      const last = runs[runs.length - 1];
      if (last && last.bottleneck === b) last.end = row + 1;
      else runs.push({ bottleneck: b, start: row, end: row + 1 });
    });
    return runs;
  }
}
