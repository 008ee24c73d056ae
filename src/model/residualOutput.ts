// BertSelfOutput and BertOutput (transformers models/bert/modeling_bert.py) are the same module with a
// different input width: LN(dense(h) + input), or the adapter's bottleneck at that site in its place.
import * as tf from "@tensorflow/tfjs-core";
import type { Bottleneck } from "./adapter";
import type { BertConfig } from "./config";
import { LayerNorm, Linear } from "./layers";
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

  forward(h: tf.Tensor2D, input: tf.Tensor2D, adapter: Bottleneck | undefined): tf.Tensor2D {
    const out = this.dense.forward(h);
    return adapter ? adapter.forward(out, input, this.layerNorm) : this.layerNorm.forward(tf.add(out, input));
  }

  parameters(): tf.Tensor[] {
    return [...this.dense.parameters(), ...this.layerNorm.parameters()];
  }
}
