// The messages between Specter2Pool and its workers.
import type { BackendChoice, BackendInfo } from "../backend/select";
import type { Pooling } from "../model/bert";

/** workerData of every pool worker. */
export interface WorkerConfig {
  dir: string;
  backend: BackendChoice;
  adapters: string[] | "all";
  /** The native backend's thread count in this worker (undefined: all cores). */
  threads?: number;
}

/** One padded forward pass: token ids of one length-sorted batch. `adapter` undefined: the model's default. */
export interface EmbedJob {
  ids: number[][];
  adapter: string | null | undefined;
  pooling: Pooling;
}

/** The batch's vectors, row after row (one transferable buffer instead of one per row). */
export type EmbedResult = Float32Array;

/** A worker's "ready" info: what it runs, as only a loaded model can tell (auto's choice, "all"'s names). */
export interface WorkerReady {
  backend: BackendInfo;
  adapters: string[];
}
