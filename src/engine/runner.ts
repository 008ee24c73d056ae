// Where the engine's forward passes run: on the calling thread (InProcessRunner) or on worker threads
// (src/pool/poolRunner.ts). Both take batches the engine has already formed and tokenized.
import type { BackendInfo } from "../backend/info";
import type { Pooling } from "../model/config";
import type { LocalModel } from "./localModel";

/** A batch's adapters: one name (null: the bare base) for every row, or one per row. */
export type BatchAdapters = string | null | readonly (string | null)[];

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

export class InProcessRunner implements ForwardRunner {
  readonly parallel = 1;

  constructor(readonly local: LocalModel) {}

  get backend(): BackendInfo {
    return this.local.backend;
  }

  get adapters(): readonly string[] {
    return this.local.adapters.names();
  }

  run(ids: number[][], adapter: BatchAdapters, pooling: Pooling): Promise<Float32Array[]> {
    return this.local.embedIds(ids, adapter, pooling);
  }

  async close(): Promise<void> {
    this.local.dispose();
  }
}
