// The engine's forward passes on the calling thread (`workers: 0`, and the page without a Web Worker).
import type { BackendInfo } from "../backend/info";
import type { Pooling } from "../model/config";
import type { BatchAdapters } from "./inputs";
import type { LocalModel } from "./localModel";
import type { ForwardRunner } from "./runner";

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
