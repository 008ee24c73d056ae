// BertLayer: self-attention, then feed-forward, each closed by a residual LayerNorm or an adapter.
import * as tf from "@tensorflow/tfjs-core";
import type { AttentionShape } from "./attention";
import { BertSelfAttention } from "./attention";
import type { BertConfig } from "./config";
import { BertIntermediate } from "./feedForward";
import { ResidualOutput } from "./residualOutput";
import type { RowAdapters } from "./rowAdapters";
import type { WeightSource } from "./weightSource";

export class BertLayer {
  private constructor(
    private readonly index: number,
    private readonly selfAttention: BertSelfAttention,
    private readonly selfOutput: ResidualOutput,
    private readonly intermediate: BertIntermediate,
    private readonly output: ResidualOutput,
  ) {}

  static load(w: WeightSource, c: BertConfig, index: number): BertLayer {
    return new BertLayer(
      index,
      BertSelfAttention.load(w.child("attention.self"), c),
      ResidualOutput.load(w.child("attention.output"), c.hidden_size, c),
      BertIntermediate.load(w.child("intermediate"), c),
      ResidualOutput.load(w.child("output"), c.intermediate_size, c),
    );
  }

  /** x: [batch·seq, hidden] → [batch·seq, hidden], or only the CLS rows [batch, hidden] with `clsOnly`:
   *  every row after attention depends on its own row alone, so the rest need not be computed. */
  forward(x: tf.Tensor2D, maskBias: tf.Tensor4D, batch: number, seq: number, adapters: RowAdapters, shape: AttentionShape, clsOnly = false): tf.Tensor2D {
    const rows = clsOnly ? tf.reshape<tf.Rank.R2>(tf.slice(tf.reshape(x, [batch, seq, -1]), [0, 0, 0], [batch, 1, -1]), [batch, -1]) : x;
    const rowsPerItem = clsOnly ? 1 : seq;
    // Each step in its own tidy, so its intermediates (a dozen [batch·seq, hidden] tensors, the feed-forward's
    // 4× wider one) are freed before the next step makes its own: at most one step's are alive at once.
    const context = tf.tidy(() => this.selfAttention.forward(x, maskBias, batch, seq, shape, rows));
    const attn = tf.tidy(() => this.selfOutput.forward(context, rows, adapters, this.index, "attention", rowsPerItem));
    context.dispose();
    const out = tf.tidy(() => this.output.forward(this.intermediate.forward(attn), attn, adapters, this.index, "output", rowsPerItem));
    attn.dispose();
    return out;
  }

  parameters(): tf.Tensor[] {
    return [this.selfAttention, this.selfOutput, this.intermediate, this.output].flatMap((m) => m.parameters());
  }
}
