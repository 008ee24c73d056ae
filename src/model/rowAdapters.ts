// The adapter of each row of a batch (null: the bare base), as a layer's two adapter sites read it. The base's
// work runs once over every row; at a site, each bottleneck present runs on its own rows and rows without one
// take the plain residual LayerNorm. The model runs a mixed batch with its rows ordered by adapter (`order`), so
// that each adapter's rows are one contiguous range: a site slices them (on the cpu and native backends a view,
// not a copy) and concatenates the results, where rows in any order would need gathers there and back (14 % of a
// pass on the native backend at 8 rows of 4 adapters, against 1 concatenation). Adapters whose configs agree on
// the steps around their own weights (`Bottleneck.flow`: SPECTER2's four do) run those steps, two LayerNorms and
// their additions, once over all their rows; only the down and up products run per adapter. Run per adapter
// instead, a native pass of 8 × 200 tokens in 4 adapters made 1574 kernel outputs, against 637 with one adapter
// (782 now); with the output pool's working-set bound too, the pass went from 20 % slower than with one adapter to 6 %.
import * as tf from "@tensorflow/tfjs-core";
import type { Adapter, Bottleneck } from "./adapter";
import type { AdapterSite } from "./config";
import type { LayerNorm } from "./layers";

/** Reordered rows [start, end) that share a site's bottleneck (undefined: none there). */
interface Run {
  bottleneck: Bottleneck | undefined;
  start: number;
  end: number;
}

/** A site closed for rows of one bottleneck, or of none: LN(h + input). */
function closeSite(b: Bottleneck | undefined, h: tf.Tensor2D, input: tf.Tensor2D, ln: LayerNorm): tf.Tensor2D {
  return b ? b.forward(h, input, ln) : ln.forward(tf.add<tf.Tensor2D>(h, input));
}

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
    if (this.perRow === null) return closeSite(this.single?.at(layer, site), h, input, ln);
    const groups = this.flows(layer, site);
    if (groups.length === 1 && groups[0].length === 1) return closeSite(groups[0][0].bottleneck, h, input, ln);
    const rows = (x: tf.Tensor2D, start: number, end: number): tf.Tensor2D => tf.slice(x, [start * rowsPerItem, 0], [(end - start) * rowsPerItem, x.shape[1]]);
    const parts = groups.map((runs) => {
      const [start, end] = [runs[0].start, runs[runs.length - 1].end];
      const [hRows, inputRows] = [rows(h, start, end), rows(input, start, end)];
      const first = runs[0].bottleneck;
      if (runs.length === 1 || first === undefined) return closeSite(first, hRows, inputRows, ln);
      // Adapters of one flow: the steps around their own weights once over all their rows, their weights on each one's rows.
      const entered = first.enter(hRows, inputRows, ln);
      const own = runs.map(({ bottleneck, start: s, end: e }) => bottleneck!.own(rows(entered.h, s - start, e - start), rows(entered.residual, s - start, e - start)));
      return first.leave(tf.concat(own, 0), inputRows, ln);
    });
    return parts.length === 1 ? parts[0] : tf.concat(parts, 0);
  }

  /** This site's runs, adjacent runs whose bottlenecks share a flow joined in one group (the bare base's rows: a group of their own). */
  private flows(layer: number, site: AdapterSite): Run[][] {
    const groups: Run[][] = [];
    for (const run of this.runs(layer, site)) {
      const group = groups[groups.length - 1];
      const last = group?.[group.length - 1].bottleneck;
      if (group && last !== undefined && run.bottleneck !== undefined && last.flow === run.bottleneck.flow) group.push(run);
      else groups.push([run]);
    }
    return groups;
  }

  /** Maximal ranges [start, end) of reordered rows sharing this site's bottleneck (or its absence). */
  private runs(layer: number, site: AdapterSite): Run[] {
    const runs: Run[] = [];
    this.perRow!.forEach((adapter, row) => {
      const b = adapter?.at(layer, site);
      const last = runs[runs.length - 1];
      if (last && last.bottleneck === b) last.end = row + 1;
      else runs.push({ bottleneck: b, start: row, end: row + 1 });
    });
    return runs;
  }
}
