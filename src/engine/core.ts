// The engine, wherever it runs: one object that embeds papers and queries with any loaded adapter, its forward
// passes on the calling thread or on workers (ForwardRunner). Input formatting, max length, adapter resolution and
// the batching plan live here once, for the library, the CLI, serve, search and parity alike; the Node entry
// (src/node/specter2.ts) and the browser entry (src/web/specter2.ts) add `load`.
import type { BackendInfo } from "../engine/options";
import { Specter2Error } from "../errors";
import { lengthSortedBatches, encodeInputs, textOf } from "./inputs";
import { unknownAdapter } from "../model/adapter";
import type { BertConfig, Pooling } from "../model/config";
import type { BertTokenizer } from "../tokenizer";
import { checkFiniteVector } from "../weights/modelDir";
import type { Manifest } from "../weights/modelDir";
import { BASE_NAMES, defaultAdapterOf, resolveMaxLength } from "./defaults";
import { normalized } from "./normalize";
import type { BatchAdapters, EmbedInput } from "./inputs";
import type { LocalModel } from "./localModel";
import type { ForwardRunner } from "./runner";
import { InProcessRunner } from "./localModel";
import { checkOptions, DEFAULT_BATCH_SIZE } from "./options";

export interface EmbedOptions {
  /** An adapter name; null for the bare base model; undefined: the model's default adapter (`defaultAdapter`).
   *  Or one of those per input: rows of different adapters share batches and the base's work. */
  adapter?: string | null | readonly (string | null | undefined)[];
  /** Inputs per forward pass (sorted by length first, so padding stays small); default 8. */
  batchSize?: number;
  /** Tokens per input including [CLS] and [SEP] (default 512, or the model's position limit if lower). */
  maxLength?: number;
  /** "cls" (SPECTER2's embedding, default), "mean" over the tokens, or "pooler". */
  pooling?: Pooling;
  /** Unit-length vectors (divided by their L2 norm), so that cosine similarity is a dot product; default false. */
  normalize?: boolean;
}

export class Specter2Core {
  private defaultName: string | null;

  protected constructor(
    /** The model directory or URL, as the caller gave it. */
    readonly location: string,
    readonly manifest: Manifest,
    readonly config: BertConfig,
    readonly tokenizer: BertTokenizer,
    private readonly runner: ForwardRunner,
    /** Worker threads computing batches, each one at a time; 0: the calling thread. */
    readonly workers: number,
  ) {
    this.defaultName = defaultAdapterOf(manifest.default_adapter, runner.adapters);
  }

  /** The backend the forward passes run on. */
  get backend(): BackendInfo {
    return this.runner.backend;
  }

  /** The loaded adapters, in the model directory's order. */
  get adapterNames(): readonly string[] {
    return this.runner.adapters;
  }

  /** The adapter used when a call names none (null: the bare base); see defaultAdapterOf. */
  get defaultAdapter(): string | null {
    return this.defaultName;
  }

  get hiddenSize(): number {
    return this.config.hidden_size;
  }

  get maxPositions(): number {
    return this.config.max_position_embeddings;
  }

  /** Where the forward passes run, in words: "native", "wasm (2 workers)". */
  get runsOn(): string {
    const name = this.backend.name;
    return this.workers <= 1 ? `${name}${this.workers === 0 ? " (in-process)" : ""}` : `${name} (${this.workers} workers)`;
  }

  /** Changes this object's default adapter; null: the bare base. */
  use(name: string | null): this {
    this.defaultName = this.resolveAdapter(name);
    return this;
  }

  /** A caller's adapter choice → a loaded adapter's name or null (the base): undefined is the default adapter;
   *  null, "base" and "none" the base (unless an adapter is called so); an unknown name is refused naming those loaded. */
  resolveAdapter(name: string | null | undefined): string | null {
    if (name === undefined) return this.defaultName;
    if (name === null) return null;
    if (this.adapterNames.includes(name)) return name;
    if (BASE_NAMES.includes(name)) return null;
    throw unknownAdapter(name, this.adapterNames);
  }

  /** An embed call's adapter option, resolved: one name or null, or one per input (checked against the inputs). */
  private resolveAdapters(option: EmbedOptions["adapter"], inputs: number): string | null | (string | null)[] {
    if (!Array.isArray(option)) return this.resolveAdapter(option as string | null | undefined);
    const names = option as readonly (string | null | undefined)[];
    if (names.length !== inputs) throw new Specter2Error("BAD_INPUT", `${names.length} adapters for ${inputs} inputs: give one adapter, or one per input`, { field: "adapter" });
    return names.map((name) => this.resolveAdapter(name));
  }

  /** One vector per input, in input order. Batches are formed by length alone: with one adapter per input,
   *  rows of different adapters share them, and the base's work. */
  async embed(inputs: readonly EmbedInput[], options: EmbedOptions = {}): Promise<Float32Array[]> {
    // Everything is resolved up front: a later use() or a concurrent call cannot change this call.
    const adapter = this.resolveAdapters(options.adapter, inputs.length);
    const maxLength = resolveMaxLength(options.maxLength, this.maxPositions);
    checkOptions(options, ["batchSize", "pooling", "normalize"]);
    const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
    const pooling = options.pooling ?? "cls";
    const encoded = encodeInputs(this.tokenizer, inputs, maxLength);
    const out = new Array<Float32Array>(inputs.length);
    const batches = lengthSortedBatches(
      encoded.map((ids) => ids.length),
      batchSize,
    );
    const embedBatch = async (rows: number[]) => {
      const rowAdapters = Array.isArray(adapter) ? rows.map((i) => adapter[i]) : adapter;
      const vectors = await this.runner.run(
        rows.map((i) => encoded[i]),
        rowAdapters,
        pooling,
      );
      rows.forEach((row, k) => {
        checkFiniteVector(vectors[k], `input ${row}`);
        out[row] = options.normalize === true ? normalized(vectors[k]) : vectors[k];
      });
    };
    if (this.runner.parallel === 1) {
      // One at a time, so the event loop gets a turn between batches.
      for (const rows of batches) await embedBatch(rows);
    } else {
      // Longest first: the costly batches start early, so the workers finish close together.
      await Promise.all(batches.reverse().map(embedBatch));
    }
    return out;
  }

  /** The text an input is embedded as: a paper as `title [SEP] abstract`, a string as it is. */
  textOf(input: EmbedInput, index = 0): string {
    return textOf(input, this.tokenizer.sepToken, index);
  }

  /** Token ids of one input, `[CLS] … [SEP]`, at most maxLength (default as for embed). */
  encode(input: EmbedInput, maxLength?: number): number[] {
    return this.tokenizer.encode(this.textOf(input), { maxLength: maxLength ?? resolveMaxLength(undefined, this.maxPositions) }).ids;
  }

  /** One batch the caller formed (serve's queue, under its token budget): one forward pass, a vector per row;
   *  `adapter` as resolveAdapter gives it, one for every row or one per row. */
  embedBatch(ids: number[][], adapter: BatchAdapters, pooling: Pooling = "cls"): Promise<Float32Array[]> {
    return this.runner.run(ids, adapter, pooling);
  }

  /** Batches that can compute at once: the workers, or 1 on the calling thread. */
  get parallel(): number {
    return this.runner.parallel;
  }

  /** @internal The model on this thread (workers: 0), for what needs its layers: parity, profiling. */
  get local(): LocalModel | null {
    return this.runner instanceof InProcessRunner ? this.runner.local : null;
  }

  /** Finishes the batches under way and frees the model (and its workers). */
  close(): Promise<void> {
    return this.runner.close();
  }
}
