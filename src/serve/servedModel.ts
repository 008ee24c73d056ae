// What the HTTP service needs of a model, whichever thread computes it: the main thread (InProcessModel)
// or worker threads (PooledModel), which keep the event loop free for /health and /metrics meanwhile.
import type { BackendInfo } from "../backend/select";
import type { EmbedInput } from "../specter2";
import type { BertTokenizer } from "../tokenizer";
import type { ModelDirectory } from "../weights/loadModelDir";

/** What /info and the logs say about the model being served. */
export interface ModelDescription {
  /** The model directory. */
  dir: string;
  /** Where its base was converted from (the manifest's base source). */
  base: string;
  /** Loaded adapters, in the directory's order. */
  adapters: readonly string[];
  hiddenSize: number;
  maxPositions: number;
  /** The backend the forward passes run on. */
  backend: BackendInfo;
  /** Worker threads computing batches, each one at a time; 0: the main thread. */
  workers: number;
}

export interface ServedModel {
  readonly description: ModelDescription;
  /** Tokenizes on the main thread, so a too-long input is refused before it waits. */
  readonly tokenizer: BertTokenizer;
  /** A paper as the model card builds it: `title [SEP] abstract`. */
  textOf(input: EmbedInput): string;
  /** One batch, already formed by the queue under its token budget: one vector per row, in order. */
  embedBatch(rows: number[][], adapter: string | null): Promise<Float32Array[]>;
  /** Finishes the batches under way and frees the model. */
  close(): Promise<void>;
}

export function describeModel(directory: ModelDirectory, adapters: readonly string[], backend: BackendInfo, workers: number): ModelDescription {
  const { config } = directory;
  return { dir: directory.dir, base: directory.manifest.base.source, adapters, hiddenSize: config.hidden_size, maxPositions: config.max_position_embeddings, backend, workers };
}
