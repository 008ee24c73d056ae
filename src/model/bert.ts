// Hugging Face's BertModel (transformers, models/bert/modeling_bert.py), one class per module of the checkpoint, in
// the order a forward pass runs them: embeddings, then per layer self-attention, its output, the feed-forward and its
// output, then the pooling SPECTER2 uses (CLS) or offers (mean, pooler). docs/architecture.md, "The computation",
// writes out each equation and points back here.
import * as tf from "@tensorflow/tfjs-core";
import { Specter2Error } from "../errors";
import type { Adapter } from "./adapter";
import { RowAdapters } from "./adapter";
import type { BackendCapabilities } from "./capabilities";
import type { PrecisionPolicy, AdapterSite, BertConfig, Pooling } from "./config";
import { activation, LayerNorm, Linear } from "./modules";
import type { WeightSource } from "./modules";

/** embeddings = LN(word[id] + position[pos] + token_type[0]) */
class BertEmbeddings {
  private constructor(
    private readonly word: tf.Tensor2D,
    /** position + token_type[0], summed once at load: SPECTER2's token_type_ids are all 0. */
    private readonly positionAndType: tf.Tensor2D,
    private readonly layerNorm: LayerNorm,
  ) {}

  static load(w: WeightSource, c: BertConfig): BertEmbeddings {
    const word = w.take("word_embeddings.weight", [c.vocab_size, c.hidden_size]) as tf.Tensor2D;
    const position = w.take("position_embeddings.weight", [c.max_position_embeddings, c.hidden_size]);
    const tokenType = w.take("token_type_embeddings.weight", [c.type_vocab_size, c.hidden_size]);
    const positionAndType = tf.tidy<tf.Tensor2D>(() => tf.add(position, tf.slice(tokenType, [0, 0], [1, c.hidden_size])));
    position.dispose();
    tokenType.dispose();
    return new BertEmbeddings(word, positionAndType, LayerNorm.load(w.child("LayerNorm"), c.hidden_size, c.layer_norm_eps));
  }

  /** ids: int32 [batch, seq] → [batch·seq, hidden] */
  forward(ids: tf.Tensor2D): tf.Tensor2D {
    const [batch, seq] = ids.shape;
    const hidden = this.word.shape[1];
    const words = tf.reshape(tf.gather(this.word, tf.reshape(ids, [-1])), [batch, seq, hidden]);
    // Broadcast over the batch rather than tiled: one pass less over [batch·seq, hidden].
    const summed = tf.add(words, tf.slice(this.positionAndType, [0, 0], [seq, -1]));
    return this.layerNorm.forward(tf.reshape<tf.Rank.R2>(summed, [batch * seq, hidden]));
  }

  parameters(): tf.Tensor[] {
    return [this.word, this.positionAndType, ...this.layerNorm.parameters()];
  }
}

/** Q, K, V = x·Wq+bq, x·Wk+bk, x·Wv+bv in heads of d = hidden / heads; A = softmax(Q·Kᵀ/√d + maskBias)·V */
export class BertSelfAttention {
  /** The most attention scores one batched product makes at once (16M values, 64 MiB): larger batches run in chunks
   *  of rows, so 32 × 512 tokens never hold all their scores at once. benchmarks/attentionChunks.ts measures it.
   *  @internal (that benchmark and a test change it) */
  static scoreChunkValues = 2 ** 24;
  private readonly heads: number;
  private readonly headDim: number;

  private constructor(
    private readonly query: Linear,
    private readonly key: Linear,
    private readonly value: Linear,
    c: BertConfig,
    private readonly capabilities: BackendCapabilities,
    private readonly policy: PrecisionPolicy,
  ) {
    this.heads = c.num_attention_heads;
    this.headDim = c.hidden_size / c.num_attention_heads;
  }

  static load(w: WeightSource, c: BertConfig): BertSelfAttention {
    const h = c.hidden_size;
    if (h % c.num_attention_heads !== 0) {
      throw new Specter2Error("BAD_CHECKPOINT", `hidden_size ${h} is not a multiple of num_attention_heads ${c.num_attention_heads}`, { field: "hidden_size" });
    }
    const linear = (name: string) => Linear.load(w.child(name), h, h, "hidden");
    return new BertSelfAttention(linear("query"), linear("key"), linear("value"), c, w.holding.capabilities, w.holding.policy);
  }

  /**
   * x: [batch·seq, hidden]; maskBias: [batch, 1, 1, seq] holding 0 for tokens and min_float32 for padding.
   * `queries`: x's rows that attend, [batch·q, hidden] (default x itself; the CLS rows when only they are needed).
   * Returns the context [batch·q, hidden].
   */
  forward(x: tf.Tensor2D, maskBias: tf.Tensor4D, batch: number, seq: number, queries: tf.Tensor2D = x): tf.Tensor2D {
    const split = (t: tf.Tensor2D, rows: number) => tf.transpose(tf.reshape<tf.Rank.R4>(t, [batch, rows, this.heads, this.headDim]), [0, 2, 1, 3]); // [batch, heads, rows, headDim]
    const rows = queries.shape[0] / batch;
    // PyTorch divides the scores by √headDim; scaling the queries instead is the same product with a quarter of the
    // work at 256 tokens, and exactly the same numbers when √headDim is a power of two (SPECTER2: 8), since then
    // every term is scaled without rounding.
    const q = split(tf.mul<tf.Tensor2D>(this.query.forward(queries), 1 / Math.sqrt(this.headDim)), rows);
    const k = split(this.key.forward(x), seq);
    const v = split(this.value.forward(x), seq);
    const context = this.capabilities.attention === "batched" ? this.batched(q, k, v, maskBias) : this.perHead(q, k, v, maskBias, batch);
    return tf.reshape(tf.transpose(context, [0, 2, 1, 3]), [batch * rows, this.heads * this.headDim]);
  }

  /** softmax(Q·Kᵀ + mask)·V (Q already scaled) as two BatchMatMuls over [batch, heads, seq, ·], a few rows of the
   *  batch at a time (scoreChunkValues). */
  private batched(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, maskBias: tf.Tensor4D): tf.Tensor4D {
    const [batch, heads, rows] = q.shape;
    const perChunk = Math.max(1, Math.floor(BertSelfAttention.scoreChunkValues / (heads * rows * k.shape[2])));
    if (perChunk >= batch) return this.batchedChunk(q, k, v, maskBias);
    const parts: tf.Tensor4D[] = [];
    for (let b = 0; b < batch; b += perChunk) {
      const n = Math.min(perChunk, batch - b);
      const rowsOf = <T extends tf.Tensor4D>(t: T) => tf.slice(t, [b, 0, 0, 0], [n, -1, -1, -1]);
      parts.push(tf.tidy(() => this.batchedChunk(rowsOf(q), rowsOf(k), rowsOf(v), rowsOf(maskBias))));
    }
    const context = tf.concat(parts, 0);
    parts.forEach((p) => p.dispose());
    return context;
  }

  private batchedChunk(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, maskBias: tf.Tensor4D): tf.Tensor4D {
    // Each [rows, heads, seq, seq] step is freed as soon as the next exists, not at the layer's end: two of them
    // at a time at most, which a backend can recycle.
    const precision = this.policy.activations;
    const products = this.capabilities.activationProduct(q, k, true, precision);
    const scores = tf.add<tf.Tensor4D>(products, maskBias);
    products.dispose();
    const probabilities = tf.softmax(scores);
    scores.dispose();
    const context = this.capabilities.activationProduct(probabilities, v, false, precision);
    probabilities.dispose();
    return context;
  }

  /** The same as 2-D matmuls per (row, head) with Kᵀ laid out once, for backends whose fast products are unbatched
   *  and untransposed (tfjs-wasm sends only those to XNNPACK; its Slice copies the whole input on every call, so the
   *  per-head blocks are cut from one read). */
  private perHead(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, maskBias: tf.Tensor4D, batch: number): tf.Tensor4D {
    const [, heads, rows, d] = q.shape;
    const seq = k.shape[2];
    const qData = q.dataSync() as Float32Array;
    const kTData = tf.transpose(k, [0, 1, 3, 2]).dataSync() as Float32Array; // [batch, heads, headDim, seq]
    const vData = v.dataSync() as Float32Array;
    const biasData = maskBias.dataSync() as Float32Array; // [batch, 1, 1, seq]
    const block = seq * d;
    const out: tf.Tensor2D[] = [];
    for (let b = 0; b < batch; b++) {
      const bias = tf.tensor2d(biasData.subarray(b * seq, (b + 1) * seq), [1, seq]);
      for (let h = 0; h < heads; h++) {
        const at = (b * heads + h) * block;
        const qAt = (b * heads + h) * rows * d;
        // A tidy per head frees its [rows, seq] scores at once instead of at the layer's end.
        out.push(
          tf.tidy(() => {
            const qh = tf.tensor2d(qData.subarray(qAt, qAt + rows * d), [rows, d]);
            const kh = tf.tensor2d(kTData.subarray(at, at + block), [d, seq]);
            const vh = tf.tensor2d(vData.subarray(at, at + block), [seq, d]);
            const scores = tf.add(tf.matMul(qh, kh), bias); // [rows, seq]
            return tf.matMul(tf.softmax(scores), vh); // [rows, headDim]
          }),
        );
      }
      bias.dispose();
    }
    return tf.reshape(tf.stack(out), [batch, heads, rows, d]);
  }

  parameters(): tf.Tensor[] {
    return [this.query, this.key, this.value].flatMap((m) => m.parameters());
  }
}

/** BertSelfOutput and BertOutput are one module with different input widths: LN(dense(h) + input), or, for the rows
 *  whose adapter has a bottleneck at this site, that bottleneck in its place. */
class ResidualOutput {
  private constructor(
    private readonly dense: Linear,
    private readonly layerNorm: LayerNorm,
  ) {}

  static load(w: WeightSource, c: BertConfig, site: AdapterSite): ResidualOutput {
    const dense = site === "attention" ? Linear.load(w.child("dense"), c.hidden_size, c.hidden_size, "hidden") : Linear.load(w.child("dense"), c.intermediate_size, c.hidden_size, "ffn_out");
    return new ResidualOutput(dense, LayerNorm.load(w.child("LayerNorm"), c.hidden_size, c.layer_norm_eps));
  }

  forward(h: tf.Tensor2D, input: tf.Tensor2D, adapters: RowAdapters, layer: number, site: AdapterSite, rowsPerItem: number): tf.Tensor2D {
    return adapters.apply(layer, site, this.dense.forward(h), input, this.layerNorm, rowsPerItem);
  }

  parameters(): tf.Tensor[] {
    return [...this.dense.parameters(), ...this.layerNorm.parameters()];
  }
}

/** BertIntermediate: act(attn·Wi + bi), the activation fused into the product where the backend offers it. */
class BertIntermediate {
  private readonly act: (x: tf.Tensor) => tf.Tensor;
  private readonly fused: string | undefined;

  private constructor(
    private readonly dense: Linear,
    c: BertConfig,
    capabilities: BackendCapabilities,
  ) {
    this.act = activation(c.hidden_act);
    this.fused = capabilities.fusedActivations[c.hidden_act];
  }

  static load(w: WeightSource, c: BertConfig): BertIntermediate {
    return new BertIntermediate(Linear.load(w.child("dense"), c.hidden_size, c.intermediate_size, "ffn_in"), c, w.holding.capabilities);
  }

  forward(x: tf.Tensor2D): tf.Tensor2D {
    return this.fused !== undefined ? this.dense.forward(x, this.fused) : (this.act(this.dense.forward(x)) as tf.Tensor2D);
  }

  parameters(): tf.Tensor[] {
    return this.dense.parameters();
  }
}

/** BertLayer: attn = LN(h + x) after self-attention, x' = LN(f + attn) after the feed-forward (or the adapters' bottlenecks). */
class BertLayer {
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
      ResidualOutput.load(w.child("attention.output"), c, "attention"),
      BertIntermediate.load(w.child("intermediate"), c),
      ResidualOutput.load(w.child("output"), c, "output"),
    );
  }

  /** x: [batch·seq, hidden] → [batch·seq, hidden], or only the CLS rows [batch, hidden] with `clsOnly`:
   *  every row after attention depends on its own row alone, so the rest need not be computed. */
  forward(x: tf.Tensor2D, maskBias: tf.Tensor4D, batch: number, seq: number, adapters: RowAdapters, clsOnly = false): tf.Tensor2D {
    const rows = clsOnly ? tf.reshape<tf.Rank.R2>(tf.slice(tf.reshape(x, [batch, seq, -1]), [0, 0, 0], [batch, 1, -1]), [batch, -1]) : x;
    const rowsPerItem = clsOnly ? 1 : seq;
    // Each step in its own tidy, so its intermediates (a dozen [batch·seq, hidden] tensors, the feed-forward's
    // 4× wider one) are freed before the next step makes its own: at most one step's are alive at once.
    const context = tf.tidy(() => this.selfAttention.forward(x, maskBias, batch, seq, rows));
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

export interface ForwardOptions {
  /** One adapter (null: the bare base) for every row, or one per row of the batch. */
  adapter?: Adapter | null | readonly (Adapter | null)[];
  pooling?: Pooling;
  /** Also return every layer's hidden state (index 0 = embeddings), for parity checks. */
  hiddenStates?: boolean;
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
    const pooler = w.has("pooler.dense.weight") ? Linear.load(w.child("pooler.dense"), c.hidden_size, c.hidden_size, "hidden") : null;
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
    const adapters = RowAdapters.of(options.adapter, batch);
    return tf.tidy(() => {
      const states: tf.Tensor3D[] = [];
      const pooling = options.pooling ?? "cls";
      // CLS and pooler pooling read only the CLS row: the last layer computes that row alone after attention.
      const clsOnly = pooling !== "mean" && !options.hiddenStates;
      // A mixed batch runs with each adapter's rows together (RowAdapters); its results go back to the caller's order.
      const order = adapters.order && tf.tensor1d(adapters.order as number[], "int32");
      const inverse = adapters.order && tf.tensor1d(inversePermutation(adapters.order), "int32");
      const back = <T extends tf.Tensor>(t: T): T => (inverse ? tf.gather(t, inverse) : t);
      if (order) {
        ids = tf.gather(ids, order);
        mask = tf.gather(mask, order);
      }
      // (1 - mask) · min_float32 on the keys, as Hugging Face's get_extended_attention_mask.
      const maskBias = tf.reshape<tf.Rank.R4>(tf.mul(tf.sub(1, tf.cast(mask, "float32")), -3.4028234663852886e38), [batch, 1, 1, seq]);
      let x = this.embeddings.forward(ids);
      if (options.hiddenStates) states.push(back(tf.reshape(x, [batch, seq, hidden])));
      for (const [i, layer] of this.layers.entries()) {
        const last = clsOnly && i === this.layers.length - 1;
        // A tidy per layer frees its intermediates as soon as it is done: kept for all 12 layers they outgrow the
        // wasm heap (4 GB) at batch 8 × 256 tokens.
        const next = tf.tidy(() => layer.forward(x, maskBias, batch, seq, adapters, last));
        if (options.hiddenStates) states.push(back(tf.reshape(next, [batch, seq, hidden])));
        x.dispose();
        x = next;
      }
      const pooled = back(this.pool(tf.reshape(x, [batch, clsOnly ? 1 : seq, hidden]), mask, pooling));
      return options.hiddenStates ? { pooled, hiddenStates: states } : { pooled };
    });
  }

  /** cls: the last layer's row 0; pooler: tanh(cls·Wp + bp); mean: the mean over the tokens the mask keeps. */
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
