// The AdapterHub bottleneck adapter, computed exactly as the adapters library's `Bottleneck` (methods/modeling.py)
// and `BottleneckLayer.bottleneck_layer_forward` compute it.
import * as tf from "@tensorflow/tfjs-core";
import { activation } from "./activations";
import type { AdapterSite, AdapterSpec, BertConfig } from "./config";
import { ADAPTER_LAYER_NORM_EPS, bottleneckSize } from "./config";
import { LayerNorm, Linear } from "./layers";
import type { WeightSource } from "./weightSource";
import { Specter2Error } from "../errors";

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
      Linear.load(w.child("adapter_down"), hidden, size),
      Linear.load(w.child("adapter_up"), size, hidden),
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
