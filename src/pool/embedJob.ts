// The messages between the pool runner and its workers.
import type { Precision, Pooling } from "../model/config";
import type { BackendChoice, BackendInfo } from "../engine/options";
import type { BatchAdapters } from "../engine/inputs";

/** workerData of every pool worker. */
export interface WorkerConfig {
  dir: string;
  backend: BackendChoice;
  adapters: string[] | "all";
  /** The native backend's thread count in this worker (undefined: oneDNN's default). */
  threads?: number;
  /** The matrix products' precision (undefined: fp32). */
  precision?: Precision;
}

/** One padded forward pass: token ids of one batch the engine formed; `adapter` null: the bare base, or one per row. */
export interface EmbedJob {
  ids: number[][];
  adapter: BatchAdapters;
  pooling: Pooling;
}

/** The batch's vectors, row after row (one transferable buffer instead of one per row). */
export type EmbedResult = Float32Array;

/** A worker's "ready" info: what it runs, as only a loaded model can tell (auto's choice, "all"'s names). */
export interface WorkerReady {
  backend: BackendInfo;
  adapters: string[];
}
