// Where the engine's forward passes run: on the calling thread (InProcessRunner, src/engine/localModel.ts) or on
// workers (src/pool/poolRunner.ts). Both take batches the engine has already formed and tokenized.
import type { BackendInfo } from "../engine/options";
import type { Pooling } from "../model/config";
import type { BatchAdapters } from "./inputs";

export interface ForwardRunner {
  /** The backend the forward passes run on (auto's choice, as the loaded model tells it). */
  readonly backend: BackendInfo;
  /** The adapters loaded, in the model directory's order. */
  readonly adapters: readonly string[];
  /** Batches that can compute at once: the workers, or 1 on the calling thread. */
  readonly parallel: number;
  /** One padded forward pass: a vector per row, in order; `adapter` null: the bare base. */
  run(ids: number[][], adapter: BatchAdapters, pooling: Pooling): Promise<Float32Array[]>;
  close(): Promise<void>;
}
