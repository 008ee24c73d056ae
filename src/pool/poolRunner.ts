// Forward passes on workers (Node's worker threads, a page's Web Workers): each holds its own backend and copy of
// the model and computes one padded batch at a time. tfjs kernels are synchronous, so this keeps the calling
// thread free, and it is how tfjs-backend-wasm (one thread in Node) uses every core (benchmarks/RESULTS.md). The
// engine forms the batches; a worker that dies is replaced and its batch retried.
import type { Pooling } from "../model/config";
import type { BackendInfo } from "../engine/options";
import type { BatchAdapters } from "../engine/inputs";
import type { LocalModel } from "../engine/localModel";
import { InProcessRunner } from "../engine/localModel";
import type { ForwardRunner } from "../engine/runner";
import type { PoolWorker } from "./workerPool";
import { WorkerPool } from "./workerPool";

// The messages between the runner and its workers.

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

export interface PoolRunnerOptions {
  workers: number;
  /** Starts one worker that loads the model and speaks the messages above. */
  spawn: () => PoolWorker;
  /** How often a batch is retried on a fresh worker after the one running it died (default 2). */
  maxRetries?: number;
}

export class PoolRunner implements ForwardRunner {
  private constructor(
    private readonly pool: WorkerPool<EmbedJob, EmbedResult, WorkerReady>,
    private readonly ready: WorkerReady,
    readonly parallel: number,
    private readonly hiddenSize: number,
  ) {}

  /** Starts the workers and waits until every one has loaded the model (or one could not: then none is left running). */
  static async start(hiddenSize: number, options: PoolRunnerOptions): Promise<PoolRunner> {
    const pool = new WorkerPool<EmbedJob, EmbedResult, WorkerReady>(options.workers, options.spawn, options.maxRetries);
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

/** Where a load's forward passes run: on this thread (`workers` 0: the model loaded here by `loadHere`), or on
 *  `workers` workers, each loading its own copy (the platform's `spawn`). */
export async function startRunner(workers: number, hiddenSize: number, loadHere: () => Promise<LocalModel>, pool: Omit<PoolRunnerOptions, "workers">): Promise<ForwardRunner> {
  return workers === 0 ? new InProcessRunner(await loadHere()) : PoolRunner.start(hiddenSize, { workers, ...pool });
}
