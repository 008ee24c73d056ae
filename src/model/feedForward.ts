// BertIntermediate + BertOutput (transformers models/bert/modeling_bert.py).
import * as tf from "@tensorflow/tfjs-core";
import { activation } from "./activations";
import { Bottleneck } from "./adapter";
import { BertConfig } from "./config";
import { LayerNorm, Linear } from "./layers";
import { WeightSource } from "./weightSource";

/** f = act(attn·Wi + bi) */
export class BertIntermediate {
  private readonly act: (x: tf.Tensor) => tf.Tensor;

  private constructor(private readonly dense: Linear, c: BertConfig) {
    this.act = activation(c.hidden_act);
  }

  static load(w: WeightSource, c: BertConfig): BertIntermediate {
    return new BertIntermediate(Linear.load(w.child("dense"), c.hidden_size, c.intermediate_size), c);
  }

  forward(x: tf.Tensor2D): tf.Tensor2D {
    return this.act(this.dense.forward(x)) as tf.Tensor2D;
  }

  parameters(): tf.Tensor[] {
    return this.dense.parameters();
  }
}

/** x' = LN(f·Wo2 + bo2 + attn), or the output bottleneck in its place. */
export class BertOutput {
  private constructor(private readonly dense: Linear, private readonly layerNorm: LayerNorm) {}

  static load(w: WeightSource, c: BertConfig): BertOutput {
    return new BertOutput(Linear.load(w.child("dense"), c.intermediate_size, c.hidden_size), LayerNorm.load(w.child("LayerNorm"), c.hidden_size, c.layer_norm_eps));
  }

  forward(f: tf.Tensor2D, attn: tf.Tensor2D, adapter: Bottleneck | undefined): tf.Tensor2D {
    const h = this.dense.forward(f);
    return adapter ? adapter.forward(h, attn, this.layerNorm) : this.layerNorm.forward(tf.add(h, attn));
  }

  parameters(): tf.Tensor[] {
    return [...this.dense.parameters(), ...this.layerNorm.parameters()];
  }
}
