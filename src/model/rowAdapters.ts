// The adapter of each row of a batch (null: the bare base), as a layer's two adapter sites read it. The base's
// work runs once over every row; at a site, each bottleneck present runs on its own rows (gather → bottleneck →
// back in place) and rows without one take the plain residual LayerNorm.
import * as tf from "@tensorflow/tfjs-core";
import type { Adapter, AdapterSite, Bottleneck } from "./adapter";
import type { LayerNorm } from "./layers";

/** Rows of one batch that share a site's computation: its bottleneck, or none (the plain LayerNorm). */
interface SiteGroup {
  bottleneck: Bottleneck | undefined;
  /** Batch rows, ascending. */
  rows: number[];
}

export class RowAdapters {
  private constructor(
    private readonly perRow: readonly (Adapter | null)[] | null,
    private readonly single: Adapter | null,
  ) {}

  /** One adapter (or none) for the whole batch, or one per row. */
  static of(adapter: Adapter | null | readonly (Adapter | null)[] | undefined, batch: number): RowAdapters {
    if (!Array.isArray(adapter)) return new RowAdapters(null, (adapter as Adapter | null | undefined) ?? null);
    const rows = adapter as readonly (Adapter | null)[];
    if (rows.length !== batch) throw new Error(`${rows.length} adapters for a batch of ${batch} rows`);
    // A batch whose rows all name the same adapter computes exactly as a single-adapter batch.
    return rows.every((a) => a === rows[0]) ? new RowAdapters(null, rows[0] ?? null) : new RowAdapters(rows, null);
  }

  /** Whether the rows use more than one adapter (counting the base as one). */
  get mixed(): boolean {
    return this.perRow !== null;
  }

  /** LN(h + input) where a row has no bottleneck at this site, the bottleneck where it has one. h, input:
   *  [batch · rowsPerItem, hidden], the rows of batch row b at b · rowsPerItem …; rowsPerItem: seq, or 1 for CLS rows. */
  apply(layer: number, site: AdapterSite, h: tf.Tensor2D, input: tf.Tensor2D, ln: LayerNorm, rowsPerItem: number): tf.Tensor2D {
    const run = (b: Bottleneck | undefined, x: tf.Tensor2D, res: tf.Tensor2D): tf.Tensor2D => (b ? b.forward(x, res, ln) : ln.forward(tf.add<tf.Tensor2D>(x, res)));
    if (this.perRow === null) return run(this.single?.at(layer, site), h, input);
    const groups = this.groups(layer, site);
    if (groups.length === 1) return run(groups[0].bottleneck, h, input);
    const order: number[] = [];
    const parts = groups.map((g) => {
      const indices = g.rows.flatMap((b) => Array.from({ length: rowsPerItem }, (_, s) => b * rowsPerItem + s));
      order.push(...indices);
      const idx = tf.tensor1d(indices, "int32");
      return run(g.bottleneck, tf.gather<tf.Tensor2D>(h, idx), tf.gather<tf.Tensor2D>(input, idx));
    });
    // The groups' rows, concatenated, back into the batch's order.
    const inverse = new Array<number>(order.length);
    order.forEach((row, k) => (inverse[row] = k));
    return tf.gather<tf.Tensor2D>(tf.concat(parts, 0), tf.tensor1d(inverse, "int32"));
  }

  private groups(layer: number, site: AdapterSite): SiteGroup[] {
    const groups = new Map<Bottleneck | undefined, number[]>();
    this.perRow!.forEach((adapter, row) => {
      const b = adapter?.at(layer, site);
      const rows = groups.get(b);
      if (rows) rows.push(row);
      else groups.set(b, [row]);
    });
    return [...groups].map(([bottleneck, rows]) => ({ bottleneck, rows }));
  }
}
