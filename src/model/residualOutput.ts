// BertSelfOutput and BertOutput (transformers models/bert/modeling_bert.py) are the same module with a
// different input width: LN(dense(h) + input), or the adapter's bottleneck at that site in its place.
import type * as tf from "@tensorflow/tfjs-core";
import type { AdapterSite, BertConfig } from "./config";
import { LayerNorm, Linear } from "./layers";
import type { RowAdapters } from "./rowAdapters";
import type { WeightSource } from "./weightSource";

export class ResidualOutput {
  private constructor(
    private readonly dense: Linear,
    private readonly layerNorm: LayerNorm,
  ) {}

  /** `inFeatures`: hidden_size after self-attention, intermediate_size after the feed-forward. */
  static load(w: WeightSource, inFeatures: number, c: BertConfig): ResidualOutput {
    return new ResidualOutput(Linear.load(w.child("dense"), inFeatures, c.hidden_size), LayerNorm.load(w.child("LayerNorm"), c.hidden_size, c.layer_norm_eps));
  }

  /** The adapters' site (layer, site) closes it for the rows that have a bottleneck there. */
  forward(h: tf.Tensor2D, input: tf.Tensor2D, adapters: RowAdapters, layer: number, site: AdapterSite, rowsPerItem: number): tf.Tensor2D {
    return adapters.apply(layer, site, this.dense.forward(h), input, this.layerNorm, rowsPerItem);
  }

  parameters(): tf.Tensor[] {
    return [...this.dense.parameters(), ...this.layerNorm.parameters()];
  }
}
