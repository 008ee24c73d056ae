// AdapterHub's bottleneck adapter (the adapters library: `Bottleneck` in methods/modeling.py and
// `BottleneckLayer.bottleneck_layer_forward`), written out in docs/architecture.md, "Adapters"; many adapters next to
// one base (AdapterSet); and the adapter of each row of a batch, as a layer's two sites apply them (RowAdapters).
import * as tf from "@tensorflow/tfjs-core";
import { Specter2Error } from "../errors";
import type { AdapterSite, AdapterSpec, BertConfig } from "./config";
import { ADAPTER_LAYER_NORM_EPS, bottleneckSize } from "./config";
import { activation, LayerNorm, Linear } from "./modules";
import type { WeightSource } from "./modules";

/** One bottleneck at one site of one layer. */
export class Bottleneck {
  private readonly act: (x: tf.Tensor) => tf.Tensor;

  private constructor(
    private readonly spec: AdapterSpec,
    private readonly down: Linear,
    private readonly up: Linear,
    private readonly normBefore: LayerNorm | null,
    private readonly normAfter: LayerNorm | null,
  ) {
    this.act = activation(spec.config.non_linearity);
  }

  static load(w: WeightSource, spec: AdapterSpec, layer: number): Bottleneck {
    const hidden = spec.hidden_size;
    const size = bottleneckSize(spec.config, hidden, layer);
    const { ln_before, ln_after } = spec.config;
    return new Bottleneck(
      spec,
      Linear.load(w.child("adapter_down"), hidden, size, "adapter"),
      Linear.load(w.child("adapter_up"), size, hidden, "adapter"),
      ln_before ? LayerNorm.load(w.child("adapter_norm_before"), hidden, ADAPTER_LAYER_NORM_EPS) : null,
      ln_after ? LayerNorm.load(w.child("adapter_norm_after"), hidden, ADAPTER_LAYER_NORM_EPS) : null,
    );
  }

  /** h: the sub-layer's output, input: its residual input, ln: the layer's own LayerNorm. [rows, hidden] */
  forward(h: tf.Tensor2D, input: tf.Tensor2D, ln: LayerNorm): tf.Tensor2D {
    const entered = this.enter(h, input, ln);
    return this.leave(this.own(entered.h, entered.residual), input, ln);
  }

  /** What the steps around this bottleneck's own weights depend on: adapters that agree on it run those steps
   *  on their rows together (RowAdapters), only `own` on each adapter's rows. */
  get flow(): string {
    const c = this.spec.config;
    return `${String(c.residual_before_ln)}/${c.original_ln_before}/${c.original_ln_after}`;
  }

  /** The steps before the bottleneck's own weights: its input and the residual it adds back. */
  enter(h: tf.Tensor2D, input: tf.Tensor2D, ln: LayerNorm): { h: tf.Tensor2D; residual: tf.Tensor2D } {
    const c = this.spec.config;
    let residual: tf.Tensor2D | null = c.residual_before_ln === true ? h : null;
    if (c.original_ln_before) {
      h = tf.add(h, input);
      if (c.residual_before_ln === "post_add") residual = h;
      h = ln.forward(h);
    }
    if (c.residual_before_ln === false) residual = h;
    if (residual === null) throw new Error("unreachable: Adapter.load refuses post_add without original_ln_before");
    return { h, residual };
  }

  /** The bottleneck's own weights on entered rows, its residual added back. */
  own(h: tf.Tensor2D, residual: tf.Tensor2D): tf.Tensor2D {
    const c = this.spec.config;
    const z = this.normBefore ? this.normBefore.forward(h) : h;
    let out: tf.Tensor2D = this.up.forward(this.act(this.down.forward(z)) as tf.Tensor2D);
    if (c.scaling !== 1) out = tf.mul(out, c.scaling);
    if (c.adapter_residual_before_ln) out = tf.add(out, residual);
    if (this.normAfter) out = this.normAfter.forward(out);
    if (!c.adapter_residual_before_ln) out = tf.add(out, residual);
    return out;
  }

  /** The step after: the layer's LayerNorm over the result and the site's input, where the config has it. */
  leave(out: tf.Tensor2D, input: tf.Tensor2D, ln: LayerNorm): tf.Tensor2D {
    return this.spec.config.original_ln_after ? ln.forward(tf.add(out, input)) : out;
  }

  parameters(): tf.Tensor[] {
    return [this.down, this.up, this.normBefore, this.normAfter].flatMap((m) => m?.parameters() ?? []);
  }
}

/** A whole adapter: one optional Bottleneck per (layer, site), after `leave_out` and the site flags. */
export class Adapter {
  private constructor(
    readonly spec: AdapterSpec,
    private readonly sites: Map<string, Bottleneck>,
  ) {}

  /** `w` holds our converted names: `layer.{i}.{attention|output}.adapter_down.weight`, … */
  static load(w: WeightSource, spec: AdapterSpec, config: BertConfig): Adapter {
    if (spec.hidden_size !== config.hidden_size) {
      throw new Specter2Error("BAD_CHECKPOINT", `${w.origin}: adapter "${spec.name}" is for hidden size ${spec.hidden_size}, the model has ${config.hidden_size}`, {
        file: w.origin,
        adapter: spec.name,
        field: "hidden_size",
      });
    }
    if (spec.config.residual_before_ln === "post_add" && !spec.config.original_ln_before) {
      // The adapters library has no residual in this case (it fails with an unbound variable).
      throw new Specter2Error("BAD_CHECKPOINT", `${w.origin}: adapter "${spec.name}": residual_before_ln "post_add" requires original_ln_before`, {
        file: w.origin,
        adapter: spec.name,
        field: "residual_before_ln",
      });
    }
    const sites = new Map<string, Bottleneck>();
    for (let layer = 0; layer < config.num_hidden_layers; layer++) {
      if (spec.config.leave_out.includes(layer)) continue;
      if (spec.config.mh_adapter) sites.set(key(layer, "attention"), Bottleneck.load(w.child(`layer.${layer}.attention`), spec, layer));
      if (spec.config.output_adapter) sites.set(key(layer, "output"), Bottleneck.load(w.child(`layer.${layer}.output`), spec, layer));
    }
    const extra = w.untaken();
    if (extra.length > 0) {
      throw new Specter2Error("BAD_CHECKPOINT", `${w.origin}: unexpected adapter tensors: ${extra.join(", ")}`, { file: w.origin, tensor: extra[0], adapter: spec.name });
    }
    return new Adapter(spec, sites);
  }

  at(layer: number, site: AdapterSite): Bottleneck | undefined {
    return this.sites.get(key(layer, site));
  }

  parameters(): tf.Tensor[] {
    return [...this.sites.values()].flatMap((b) => b.parameters());
  }

  dispose(): void {
    for (const t of this.parameters()) t.dispose();
    this.sites.clear();
  }
}

function key(layer: number, site: AdapterSite): string {
  return `${layer}.${site}`;
}

// Many adapters next to one base. Switching only changes which Adapter object a forward pass is handed: no base
// tensor is touched, copied or created.

export class AdapterSet {
  private readonly adapters = new Map<string, Adapter>();

  add(name: string, adapter: Adapter): void {
    if (this.adapters.has(name)) throw new Specter2Error("BAD_INPUT", `adapter "${name}" is already loaded; unload it first`, { adapter: name });
    this.adapters.set(name, adapter);
  }

  names(): string[] {
    return [...this.adapters.keys()];
  }

  has(name: string): boolean {
    return this.adapters.has(name);
  }

  /** The adapter called `name`, or null for the bare base model. */
  get(name: string | null): Adapter | null {
    if (name === null) return null;
    const a = this.adapters.get(name);
    if (!a) throw unknownAdapter(name, this.names());
    return a;
  }

  unload(name: string): void {
    this.get(name)?.dispose();
    this.adapters.delete(name);
  }

  dispose(): void {
    for (const a of this.adapters.values()) a.dispose();
    this.adapters.clear();
  }
}

/** The error (UNKNOWN_ADAPTER, with `adapter`) for an adapter name not among those loaded, naming them. */
export function unknownAdapter(name: string, loaded: readonly string[]): Specter2Error {
  return new Specter2Error("UNKNOWN_ADAPTER", `unknown adapter "${name}" (loaded: ${loaded.join(", ") || "none"})`, { adapter: name });
}

// The adapter of each row of a batch (null: the bare base), as a layer's two adapter sites apply them. The base's work
// runs once over every row; at a site, each bottleneck present runs on its own rows, and rows without one take the
// plain residual LayerNorm. A mixed batch runs with its rows ordered by adapter (`order`), so that each adapter's rows
// are one contiguous range: a site slices them (a view, not a copy, on the cpu and native backends) and concatenates
// the results, where rows in any order would need a gather there and back at every site. Adapters whose configs
// agree on the steps around their own weights (`Bottleneck.flow`; SPECTER2's four do) run those steps, two
// LayerNorms and their additions, once over all their rows, and only their down and up products per adapter, so a
// mixed pass costs little more than a single-adapter one (benchmarks/RESULTS.md, "Mixed traffic").

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
