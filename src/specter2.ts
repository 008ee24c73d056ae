// The library API: load a converted model directory, embed papers or queries with any loaded adapter.
//   const m = await Specter2.load(dir);
//   const v = await m.embed(papers, { adapter: "proximity" });
//   m.dispose();
import * as tf from "@tensorflow/tfjs-core";
import { BackendChoice, BackendInfo, initBackend } from "./backend/select";
import { Adapter } from "./model/adapter";
import { AdapterSet } from "./model/adapterSet";
import { BertModel, Pooling } from "./model/bert";
import { WeightSource } from "./model/weightSource";
import { BertTokenizer, DEFAULT_MAX_LENGTH, formatPaper } from "./tokenizer";
import { loadTokenizer } from "./tokenizer/load";
import { loadAdapterFiles, loadBaseTensors, ModelDirectory, openModelDirectory } from "./weights/loadModelDir";
import { lengthSortedBatches } from "./lengthBatches";
import { checkFiniteVector } from "./weights/verify";

export interface Paper {
  title?: string | null;
  abstract?: string | null;
}

/** A raw text (a query) or a paper, embedded as `title [SEP] abstract`. */
export type EmbedInput = string | Paper;

export interface LoadOptions {
  backend?: BackendChoice;
  /** Adapters to load next to the base: names from the model directory, "all" (default) or none ([]). */
  adapters?: string[] | "all";
  /** Check every file against the manifest's sha256 before loading (reads the whole directory once more). */
  verify?: boolean;
  /** Threads for the native backend's kernels (default: all cores); other backends ignore it. */
  threads?: number;
}

export interface EmbedOptions {
  /** An adapter name, or null for the bare base model; defaults to the one chosen with `use()`. */
  adapter?: string | null;
  /** Papers per forward pass (sorted by length first, so padding stays small). */
  batchSize?: number;
  /** Tokens per input including [CLS] and [SEP] (default 512, or the model's position limit if lower). */
  maxLength?: number;
  pooling?: Pooling;
}

export const DEFAULT_BATCH_SIZE = 8;

export class Specter2 {
  readonly adapters = new AdapterSet();

  private constructor(
    readonly model: BertModel,
    readonly tokenizer: BertTokenizer,
    readonly directory: ModelDirectory,
    readonly backend: BackendInfo,
  ) {}

  static async load(dir: string, options: LoadOptions = {}): Promise<Specter2> {
    const backend = await initBackend(options.backend ?? "auto");
    if (options.threads !== undefined && backend.choice === "native") {
      (require("./backend/native") as typeof import("./backend/native")).setNativeThreads(options.threads);
    }
    const directory = openModelDirectory(dir, { verify: options.verify });
    const tokenizer = loadTokenizer(dir);
    const base = loadBaseTensors(directory);
    let model: BertModel;
    try {
      model = BertModel.load(new WeightSource(base.tensors, base.origin), directory.config);
    } catch (e) {
      for (const t of base.tensors.values()) if (!t.isDisposed) t.dispose();
      throw e;
    }
    const m = new Specter2(model, tokenizer, directory, backend);
    const names = options.adapters === undefined || options.adapters === "all" ? Object.keys(directory.manifest.adapters) : options.adapters;
    try {
      for (const name of names) m.loadAdapter(name);
    } catch (e) {
      m.dispose();
      throw e;
    }
    return m;
  }

  /** Loads one more adapter of the model directory next to the base. */
  loadAdapter(name: string): void {
    if (this.adapters.has(name)) throw new Error(`adapter "${name}" is already loaded`);
    const files = loadAdapterFiles(this.directory, name);
    try {
      this.adapters.add(name, Adapter.load(new WeightSource(files.tensors, files.origin), files.spec, this.model.config));
    } catch (e) {
      for (const t of files.tensors.values()) if (!t.isDisposed) t.dispose();
      throw e;
    }
  }

  /** The default adapter for `embed` calls that name none (null: the base model). */
  use(name: string | null): this {
    this.adapters.use(name);
    return this;
  }

  /** One vector per input, in input order. */
  async embed(inputs: readonly EmbedInput[], options: EmbedOptions = {}): Promise<Float32Array[]> {
    // Resolve the adapter once, up front: a later use() or a concurrent call cannot change this call's adapter.
    const adapter = this.adapters.get(options.adapter === undefined ? this.adapters.active : options.adapter);
    const positions = this.model.config.max_position_embeddings;
    const maxLength = options.maxLength ?? Math.min(DEFAULT_MAX_LENGTH, positions);
    if (maxLength > positions) throw new Error(`maxLength ${maxLength} exceeds the model's ${positions} positions (max_position_embeddings)`);
    const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
    const encoded = inputs.map((input) => this.tokenizer.encode(this.textOf(input), { maxLength }).ids);
    const out = new Array<Float32Array>(inputs.length);
    for (const rows of lengthSortedBatches(encoded.map((ids) => ids.length), batchSize)) {
      const vectors = await this.embedIds(rows.map((i) => encoded[i]), adapter, options.pooling ?? "cls");
      rows.forEach((row, k) => {
        checkFiniteVector(vectors[k], `input ${row}`);
        out[row] = vectors[k];
      });
    }
    return out;
  }

  /** Token ids (each `[CLS] … [SEP]`) → vectors, one batch padded to its longest row. */
  async embedIds(ids: readonly number[][], adapter: Adapter | null, pooling: Pooling = "cls"): Promise<Float32Array[]> {
    if (ids.length === 0) return [];
    const batch = this.tokenizer.pad(ids);
    const pooled = tf.tidy(() => {
      const shape: [number, number] = [batch.batchSize, batch.seqLength];
      return this.model.forward(tf.tensor2d(batch.ids, shape, "int32"), tf.tensor2d(batch.attentionMask, shape, "int32"), { adapter, pooling }).pooled;
    });
    const flat = (await pooled.data()) as Float32Array;
    pooled.dispose();
    const hidden = this.model.config.hidden_size;
    return ids.map((_, r) => flat.slice(r * hidden, (r + 1) * hidden));
  }

  /** A paper as the model card builds it: `title + [SEP] + (abstract ?? "")`. */
  textOf(input: EmbedInput): string {
    return typeof input === "string" ? input : formatPaper(input.title ?? "", input.abstract, this.tokenizer.sepToken);
  }

  dispose(): void {
    this.adapters.dispose();
    this.model.dispose();
  }
}
