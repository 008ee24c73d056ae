// Where the engine's forward passes run: on the calling thread (InProcessRunner, below) or on workers
// (src/pool/poolRunner.ts). Both take batches the engine has already formed and tokenized.
import type { BackendInfo } from "../model/capabilities";
import type { Pooling } from "../model/config";
import type { BatchAdapters } from "./inputs";
import type { LocalModel } from "./localModel";

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

/** The forward passes on the calling thread (`workers: 0`, and the page without a Web Worker). */
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
