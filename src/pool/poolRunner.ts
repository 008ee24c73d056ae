// Forward passes on worker threads: each worker holds its own backend and copy of the model and computes one
// padded batch at a time. tfjs kernels are synchronous, so this keeps the calling thread free, and it is how
// tfjs-backend-wasm (one thread in Node) uses every core (benchmarks/RESULTS.md). The engine (src/specter2.ts)
// forms the batches; a worker that dies is replaced and its batch retried.
import type { Pooling } from "../model/config";
import type { BatchAdapters, ForwardRunner, RunnerOptions } from "../engine/runner";
import type { EmbedJob, EmbedResult, WorkerConfig, WorkerReady } from "./embedJob";
import { siblingScript, spawnWorker } from "./spawnWorker";
import { WorkerPool } from "./workerPool";

export interface PoolRunnerOptions extends RunnerOptions {
  workers: number;
  /** How often a batch is retried on a fresh worker after the one running it died (default 2). */
  maxRetries?: number;
  /** The worker's script; replaced only by tests (to make a worker crash or stall). */
  workerScript?: string;
}

export class PoolRunner implements ForwardRunner {
  private constructor(
    private readonly pool: WorkerPool<EmbedJob, EmbedResult, WorkerReady>,
    private readonly ready: WorkerReady,
    readonly parallel: number,
    private readonly hiddenSize: number,
  ) {}

  /** Starts the workers and waits until every one has loaded the model (or one could not: then none is left running). */
  static async start(dir: string, hiddenSize: number, options: PoolRunnerOptions): Promise<PoolRunner> {
    const workerData: WorkerConfig = { dir, backend: options.backend, adapters: options.adapters, threads: options.threads };
    const script = options.workerScript ?? siblingScript(__filename, __dirname, "worker");
    const pool = new WorkerPool<EmbedJob, EmbedResult, WorkerReady>(options.workers, () => spawnWorker(script, workerData), options.maxRetries);
    try {
      return new PoolRunner(pool, await pool.ready(), options.workers, hiddenSize);
    } catch (e) {
      await pool.close();
      throw e;
    }
  }

  get backend() {
    return this.ready.backend;
  }

  get adapters(): readonly string[] {
    return this.ready.adapters;
  }

  async run(ids: number[][], adapter: BatchAdapters, pooling: Pooling): Promise<Float32Array[]> {
    const flat = await this.pool.run({ ids, adapter, pooling });
    return ids.map((_, r) => flat.slice(r * this.hiddenSize, (r + 1) * this.hiddenSize));
  }

  /** Finishes the batches under way and stops the workers. */
  close(): Promise<void> {
    return this.pool.close();
  }
}
