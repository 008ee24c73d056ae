// BertIntermediate (transformers models/bert/modeling_bert.py); BertOutput is a ResidualOutput.
import * as tf from "@tensorflow/tfjs-core";
import { activation, fusedActivation } from "./activations";
import type { BertConfig } from "./config";
import { Linear } from "./layers";
import type { WeightSource } from "./weightSource";

/** f = act(attn·Wi + bi) */
export class BertIntermediate {
  private readonly act: (x: tf.Tensor) => tf.Tensor;

  private constructor(
    private readonly dense: Linear,
    private readonly c: BertConfig,
  ) {
    this.act = activation(c.hidden_act);
  }

  static load(w: WeightSource, c: BertConfig): BertIntermediate {
    return new BertIntermediate(Linear.load(w.child("dense"), c.hidden_size, c.intermediate_size), c);
  }

  forward(x: tf.Tensor2D): tf.Tensor2D {
    const fused = fusedActivation(this.c.hidden_act, tf.getBackend());
    return fused !== null ? this.dense.forward(x, fused) : (this.act(this.dense.forward(x)) as tf.Tensor2D);
  }

  parameters(): tf.Tensor[] {
    return this.dense.parameters();
  }
}
