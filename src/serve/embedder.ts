// Between requests and the batching queue: adapter names as clients spell them, tokenization on arrival
// (so a too-long input is refused before it waits), and the engine's forward pass for each batch.
import { BASE_NAMES } from "../engine/defaults";
import type { EmbedInput } from "../engine/inputs";
import { isSpecter2Error } from "../errors";
import type { Specter2 } from "../node/specter2";
import { checkFiniteVector } from "../weights/modelDir";
import { ApiError } from "./errors";
import type { QueueObserver } from "./queue";
import { PassCost } from "./batchPlan";
import { BatchQueue } from "./queue";

/** An adapter as the APIs name it: the bare base (null) as `base`, the first of the names that mean it. */
export function adapterLabel(adapter: string | null): string {
  return adapter ?? BASE_NAMES[0];
}

export interface EmbedderLimits {
  /** Tokens per input including [CLS] and [SEP]. */
  maxLength: number;
  /** Padded tokens (rows × longest row) per forward pass. */
  maxBatchTokens: number;
  /** Rows of different adapters share batches (src/serve/queue.ts). */
  mixAdapters: boolean;
  /** Padding a row may add to join a batch (src/serve/batchPlan.ts); undefined: learned from the passes run. */
  passOverheadTokens?: number;
}

/** The learned estimate's start: what native was measured at (benchmarks/RESULTS.md), rounded up. */
const PASS_OVERHEAD_PRIOR = 32;

export interface EmbedResult {
  vectors: Float32Array[];
  /** Tokens embedded, [CLS] and [SEP] included (after truncation). */
  tokens: number;
}

export class Embedder {
  readonly queue: BatchQueue;

  constructor(
    readonly model: Specter2,
    readonly limits: EmbedderLimits,
    observer?: QueueObserver,
  ) {
    if (limits.maxBatchTokens < limits.maxLength) {
      throw new Error(`the batch token budget (${limits.maxBatchTokens}) must hold one input of the maximum length (${limits.maxLength})`);
    }
    // Each worker computes one batch at a time; on the main thread, one batch at a time in all.
    const passCost = new PassCost(limits.passOverheadTokens ?? PASS_OVERHEAD_PRIOR, limits.passOverheadTokens === undefined);
    this.queue = new BatchQueue((rows, adapter) => model.embedBatch(rows, adapter), limits.maxBatchTokens, observer, model.parallel, limits.mixAdapters, passCost);
  }

  /** Every name a request may give: `base` and the loaded adapters. */
  names(): string[] {
    return [adapterLabel(null), ...this.model.adapterNames];
  }

  /** A client's adapter name → the engine's (null: the base; undefined: the model's default adapter, as in the
   *  library and the CLI); 404 naming the choices when unknown. */
  resolve(name: string | undefined): string | null {
    try {
      return this.model.resolveAdapter(name);
    } catch (e) {
      if (!isSpecter2Error(e, "UNKNOWN_ADAPTER")) throw e;
      throw new ApiError(404, `unknown model/adapter "${name}"; this server has: ${this.names().join(", ")}`, "model_not_found");
    }
  }

  /**
   * One vector per input. A vector that is not finite (activations that overflow float32) is refused as the
   * library refuses it: NOT_FINITE naming the input (`inputName`, default "input <i>"); the batch's other rows,
   * other requests', are unaffected.
   */
  async embed(inputs: readonly EmbedInput[], adapter: string | null, options: { truncate: boolean; signal?: AbortSignal; inputName?: (index: number) => string }): Promise<EmbedResult> {
    const rows = inputs.map((input, i) => this.encode(input, i, options.truncate));
    const vectors = await this.queue.submit(adapter, rows, options.signal);
    const name = options.inputName ?? ((i: number) => `input ${i}`);
    vectors.forEach((v, i) => checkFiniteVector(v, name(i), { input: i }));
    return { vectors, tokens: rows.reduce((n, r) => n + r.length, 0) };
  }

  private encode(input: EmbedInput, index: number, truncate: boolean): number[] {
    const { maxLength } = this.limits;
    const text = this.model.textOf(input, index);
    if (truncate) return this.model.tokenizer.encode(text, { maxLength }).ids;
    // One token more than allowed tells "too long" without tokenizing the whole text.
    const ids = this.model.tokenizer.encode(text, { maxLength: maxLength + 1 }).ids;
    if (ids.length > maxLength) {
      throw new ApiError(413, `input ${index} is longer than ${maxLength} tokens; send truncate: true to cut it`, "input_too_long");
    }
    return ids;
  }
}
