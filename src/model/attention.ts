// BertSelfAttention (transformers models/bert/modeling_bert.py); BertSelfOutput is a ResidualOutput.
import * as tf from "@tensorflow/tfjs-core";
import type { BertConfig } from "./config";
import { Linear } from "./layers";
import type { WeightSource } from "./weightSource";
import { Specter2Error } from "../errors";

/** How attention's two products are issued: one BatchMatMul each (fast where the backend has a real
 *  batched kernel: tfjs-node, native, and the GPU backends, which must not read their data back per head) or 2-D
 *  products per row and head (fast on wasm and cpu). */
export type AttentionShape = "batched" | "perHead";

const BATCHED_BACKENDS = ["tensorflow", "native", "webgl", "webgpu"];

export function preferredAttentionShape(backendName: string): AttentionShape {
  return BATCHED_BACKENDS.includes(backendName) ? "batched" : "perHead";
}

export class BertSelfAttention {
  /** The most attention scores (values) one batched product makes at once: 16M values, 64 MiB, so 8 × 256 and
   *  32 × 128 run whole (chunks of 4M cost them 17 % and 8 %) and 32 × 512 (400 MB at once) in chunks of 5 rows.
   *  Measured against the whole batch at once: ANALYSIS.md, "Memory (issue 18)".
   *  @internal (benchmarks/attentionChunks.ts and a test change it) */
  static scoreChunkValues = 2 ** 24;
  private readonly heads: number;
  private readonly headDim: number;

  private constructor(
    private readonly query: Linear,
    private readonly key: Linear,
    private readonly value: Linear,
    c: BertConfig,
  ) {
    this.heads = c.num_attention_heads;
    this.headDim = c.hidden_size / c.num_attention_heads;
  }

  static load(w: WeightSource, c: BertConfig): BertSelfAttention {
    const h = c.hidden_size;
    if (h % c.num_attention_heads !== 0) {
      throw new Specter2Error("BAD_CHECKPOINT", `hidden_size ${h} is not a multiple of num_attention_heads ${c.num_attention_heads}`, { field: "hidden_size" });
    }
    return new BertSelfAttention(Linear.load(w.child("query"), h, h), Linear.load(w.child("key"), h, h), Linear.load(w.child("value"), h, h), c);
  }

  /**
   * x: [batch·seq, hidden]; maskBias: [batch, 1, 1, seq] holding 0 for tokens and min_float32 for padding.
   * `queries`: x's rows that attend, [batch·q, hidden] (default x itself; the CLS rows when only they are needed).
   * Returns the context [batch·q, hidden].
   */
  forward(x: tf.Tensor2D, maskBias: tf.Tensor4D, batch: number, seq: number, shape: AttentionShape, queries: tf.Tensor2D = x): tf.Tensor2D {
    const split = (t: tf.Tensor2D, rows: number) => tf.transpose(tf.reshape<tf.Rank.R4>(t, [batch, rows, this.heads, this.headDim]), [0, 2, 1, 3]); // [batch, heads, rows, headDim]
    const rows = queries.shape[0] / batch;
    // PyTorch divides the scores by √headDim; scaling the queries instead is the same product with a
    // quarter of the work at 256 tokens, and exactly the same numbers when √headDim is a power of two
    // (SPECTER2: 8), since then every term is scaled without rounding.
    const q = split(tf.mul<tf.Tensor2D>(this.query.forward(queries), 1 / Math.sqrt(this.headDim)), rows);
    const k = split(this.key.forward(x), seq);
    const v = split(this.value.forward(x), seq);
    const context = shape === "batched" ? this.batched(q, k, v, maskBias) : this.perHead(q, k, v, maskBias, batch);
    return tf.reshape(tf.transpose(context, [0, 2, 1, 3]), [batch * rows, this.heads * this.headDim]);
  }

  /** softmax(Q·Kᵀ + mask)·V (Q already scaled) as two BatchMatMuls over [batch, heads, seq, ·], a few rows of the
   *  batch at a time: the [rows, heads, seq, seq] scores of all 32 × 512 rows at once would be 400 MB, of five rows 63 MB. */
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
    const products = tf.matMul(q, k, false, true);
    const scores = tf.add(products, maskBias);
    products.dispose();
    const probabilities = tf.softmax(scores);
    scores.dispose();
    const context = tf.matMul<tf.Tensor4D>(probabilities, v);
    probabilities.dispose();
    return context;
  }

  /** The same as 2-D matmuls per (row, head) with Kᵀ laid out once. tfjs-wasm sends only
   *  untransposed, unbatched products to XNNPACK (its BatchMatMul is a naive loop, ~10× slower), and
   *  its Slice copies the whole input on every call, so the per-head blocks are cut from one read. */
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
