// BertModel: embeddings, the encoder's layers, and the pooling SPECTER2 uses (CLS) or offers (mean, pooler).
import * as tf from "@tensorflow/tfjs-core";
import type { Adapter } from "./adapter";
import type { AttentionShape } from "./attention";
import { preferredAttentionShape } from "./attention";
import type { BertConfig } from "./config";
import { BertEmbeddings } from "./embeddings";
import { BertLayer } from "./layer";
import { Linear } from "./layers";
import { RowAdapters } from "./rowAdapters";
import type { WeightSource } from "./weightSource";
import { Specter2Error } from "../errors";
import type { Pooling } from "./config";

export interface ForwardOptions {
  /** One adapter (null: the bare base) for every row, or one per row of the batch. */
  adapter?: Adapter | null | readonly (Adapter | null)[];
  pooling?: Pooling;
  /** Also return every layer's hidden state (index 0 = embeddings), for parity checks. */
  hiddenStates?: boolean;
  /** Defaults to what is fastest on the active backend. */
  attentionShape?: AttentionShape;
}

export interface ForwardResult {
  pooled: tf.Tensor2D; // [batch, hidden]
  hiddenStates?: tf.Tensor3D[]; // [batch, seq, hidden] × (layers + 1)
}

export class BertModel {
  private constructor(
    readonly config: BertConfig,
    private readonly embeddings: BertEmbeddings,
    private readonly layers: BertLayer[],
    private readonly pooler: Linear | null,
  ) {}

  /** Takes the base tensors by their Hugging Face BertModel names; owns them from then on. */
  static load(w: WeightSource, c: BertConfig): BertModel {
    const embeddings = BertEmbeddings.load(w.child("embeddings"), c);
    const layers = Array.from({ length: c.num_hidden_layers }, (_, i) => BertLayer.load(w.child(`encoder.layer.${i}`), c, i));
    const pooler = w.has("pooler.dense.weight") ? Linear.load(w.child("pooler.dense"), c.hidden_size, c.hidden_size) : null;
    const extra = w.untaken();
    if (extra.length > 0) throw new Specter2Error("BAD_CHECKPOINT", `${w.origin}: unexpected tensors: ${extra.join(", ")}`, { file: w.origin, tensor: extra[0] });
    return new BertModel(c, embeddings, layers, pooler);
  }

  get hasPooler(): boolean {
    return this.pooler !== null;
  }

  /** ids, mask: int32 [batch, seq]. All intermediates are released; the caller owns the result. */
  forward(ids: tf.Tensor2D, mask: tf.Tensor2D, options: ForwardOptions = {}): ForwardResult {
    const [batch, seq] = ids.shape;
    if (seq > this.config.max_position_embeddings) {
      throw new Specter2Error("BAD_INPUT", `sequence length ${seq} exceeds max_position_embeddings ${this.config.max_position_embeddings}`, { field: "maxLength" });
    }
    const hidden = this.config.hidden_size;
    const shape = options.attentionShape ?? preferredAttentionShape(tf.getBackend());
    const adapters = RowAdapters.of(options.adapter, batch);
    return tf.tidy(() => {
      // (1 - mask) · min_float32 on the keys, as Hugging Face's get_extended_attention_mask (below, in the batch's order).
      const states: tf.Tensor3D[] = [];
      const pooling = options.pooling ?? "cls";
      // CLS and pooler pooling read only the CLS row: the last layer computes that row alone after attention.
      const clsOnly = pooling !== "mean" && !options.hiddenStates;
      // A mixed batch runs with each adapter's rows together (rowAdapters.ts); its results go back to the caller's order.
      const order = adapters.order && tf.tensor1d(adapters.order as number[], "int32");
      const inverse = adapters.order && tf.tensor1d(inversePermutation(adapters.order), "int32");
      const back = <T extends tf.Tensor>(t: T): T => (inverse ? tf.gather(t, inverse) : t);
      if (order) {
        ids = tf.gather(ids, order);
        mask = tf.gather(mask, order);
      }
      const maskBias = tf.reshape<tf.Rank.R4>(tf.mul(tf.sub(1, tf.cast(mask, "float32")), -3.4028234663852886e38), [batch, 1, 1, seq]);
      let x = this.embeddings.forward(ids);
      if (options.hiddenStates) states.push(back(tf.reshape(x, [batch, seq, hidden])));
      for (const [i, layer] of this.layers.entries()) {
        const last = clsOnly && i === this.layers.length - 1;
        // A tidy per layer frees its intermediates as soon as it is done: kept for all 12 layers
        // they outgrow the wasm heap (4 GB) at batch 8 × 256 tokens.
        const next = tf.tidy(() => layer.forward(x, maskBias, batch, seq, adapters, shape, last));
        if (options.hiddenStates) states.push(back(tf.reshape(next, [batch, seq, hidden])));
        x.dispose();
        x = next;
      }
      const pooled = back(this.pool(tf.reshape(x, [batch, clsOnly ? 1 : seq, hidden]), mask, pooling));
      return options.hiddenStates ? { pooled, hiddenStates: states } : { pooled };
    });
  }

  private pool(last: tf.Tensor3D, mask: tf.Tensor2D, pooling: Pooling): tf.Tensor2D {
    const [batch, , hidden] = last.shape;
    const cls = tf.reshape<tf.Rank.R2>(tf.slice(last, [0, 0, 0], [batch, 1, hidden]), [batch, hidden]);
    if (pooling === "cls") return cls;
    if (pooling === "pooler") {
      if (!this.pooler) throw new Specter2Error("BAD_INPUT", 'pooling "pooler" needs pooler.dense weights, which this model does not have', { field: "pooling" });
      return tf.tanh(this.pooler.forward(cls));
    }
    const m = tf.expandDims(tf.cast(mask, "float32"), 2); // [batch, seq, 1]
    return tf.div<tf.Tensor2D>(tf.sum(tf.mul(last, m), 1), tf.sum(m, 1));
  }

  /** Every tensor the model holds (the base weights), e.g. to prove that switching adapters leaves them alone. */
  parameters(): tf.Tensor[] {
    return [this.embeddings, ...this.layers, ...(this.pooler ? [this.pooler] : [])].flatMap((m) => m.parameters());
  }

  dispose(): void {
    for (const t of this.parameters()) t.dispose();
  }
}

/** p[inverse[i]] = i. */
function inversePermutation(p: readonly number[]): number[] {
  const inverse = new Array<number>(p.length);
  p.forEach((row, k) => (inverse[row] = k));
  return inverse;
}
