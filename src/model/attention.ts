// BertSelfAttention + BertSelfOutput (transformers models/bert/modeling_bert.py).
import * as tf from "@tensorflow/tfjs-core";
import { Bottleneck } from "./adapter";
import { BertConfig } from "./config";
import { LayerNorm, Linear } from "./layers";
import { WeightSource } from "./weightSource";

export class BertSelfAttention {
  private readonly heads: number;
  private readonly headDim: number;

  private constructor(private readonly query: Linear, private readonly key: Linear, private readonly value: Linear, c: BertConfig) {
    this.heads = c.num_attention_heads;
    this.headDim = c.hidden_size / c.num_attention_heads;
  }

  static load(w: WeightSource, c: BertConfig): BertSelfAttention {
    const h = c.hidden_size;
    if (h % c.num_attention_heads !== 0) throw new Error(`hidden_size ${h} is not a multiple of num_attention_heads ${c.num_attention_heads}`);
    return new BertSelfAttention(Linear.load(w.child("query"), h, h), Linear.load(w.child("key"), h, h), Linear.load(w.child("value"), h, h), c);
  }

  /**
   * x: [batch·seq, hidden]; maskBias: [batch, 1, 1, seq] holding 0 for tokens and min_float32 for padding.
   * Returns the context [batch·seq, hidden].
   */
  forward(x: tf.Tensor2D, maskBias: tf.Tensor4D, batch: number, seq: number): tf.Tensor2D {
    const split = (t: tf.Tensor2D) => tf.transpose(tf.reshape(t, [batch, seq, this.heads, this.headDim]), [0, 2, 1, 3]); // [batch, heads, seq, headDim]
    const q = split(this.query.forward(x));
    const k = split(this.key.forward(x));
    const v = split(this.value.forward(x));
    const scores = tf.add(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(this.headDim)), maskBias); // [batch, heads, seq, seq]
    const context = tf.matMul(tf.softmax(scores), v); // [batch, heads, seq, headDim]
    return tf.reshape(tf.transpose(context, [0, 2, 1, 3]), [batch * seq, this.heads * this.headDim]);
  }

  parameters(): tf.Tensor[] {
    return [this.query, this.key, this.value].flatMap((m) => m.parameters());
  }
}

/** attn = LN(dense(context) + x), or the `mh_adapter` bottleneck in its place. */
export class BertSelfOutput {
  private constructor(private readonly dense: Linear, readonly layerNorm: LayerNorm) {}

  static load(w: WeightSource, c: BertConfig): BertSelfOutput {
    return new BertSelfOutput(Linear.load(w.child("dense"), c.hidden_size, c.hidden_size), LayerNorm.load(w.child("LayerNorm"), c.hidden_size, c.layer_norm_eps));
  }

  forward(context: tf.Tensor2D, input: tf.Tensor2D, adapter: Bottleneck | undefined): tf.Tensor2D {
    const h = this.dense.forward(context);
    return adapter ? adapter.forward(h, input, this.layerNorm) : this.layerNorm.forward(tf.add(h, input));
  }

  parameters(): tf.Tensor[] {
    return [...this.dense.parameters(), ...this.layerNorm.parameters()];
  }
}
