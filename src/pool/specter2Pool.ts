// Specter2 on several threads: the main thread tokenizes and sorts by length; each worker thread holds its
// own backend and copy of the model and embeds whole batches. tfjs-backend-wasm runs on one thread in Node,
// so this is how it uses every core (benchmarks/RESULTS.md).
//   const pool = await Specter2Pool.load(dir, { workers: 2 });
//   const v = await pool.embed(papers, { adapter: "proximity" });
//   await pool.close();
import { availableParallelism } from "node:os";
import { BackendChoice, BackendInfo } from "../backend/select";
import { lengthSortedBatches } from "../lengthBatches";
import { DEFAULT_BATCH_SIZE, EmbedInput, EmbedOptions } from "../specter2";
import { BertTokenizer, DEFAULT_MAX_LENGTH, formatPaper } from "../tokenizer";
import { loadTokenizer } from "../tokenizer/load";
import { ModelDirectory, openModelDirectory } from "../weights/loadModelDir";
import { checkFiniteVector } from "../weights/verify";
import { EmbedJob, EmbedResult, WorkerConfig, WorkerReady } from "./embedJob";
import { siblingScript, spawnWorker } from "./spawnWorker";
import { WorkerPool } from "./workerPool";

export interface PoolOptions {
  /** Worker threads; default one per core. */
  workers?: number;
  /** Every worker's backend; default wasm, whose kernels use one thread each. */
  backend?: BackendChoice;
  /** The native backend's threads per worker (default: all cores). */
  threads?: number;
  /** Adapters each worker loads: names, or "all" (default). */
  adapters?: string[] | "all";
  /** How often a batch is retried on a fresh worker after the one running it died (default 2). */
  maxRetries?: number;
  /** The worker's script; replaced only by tests (to make a worker crash). */
  workerScript?: string;
}

export class Specter2Pool {
  readonly hiddenSize: number;
  readonly maxPositions: number;

  private constructor(
    private readonly pool: WorkerPool<EmbedJob, EmbedResult, WorkerReady>,
    readonly tokenizer: BertTokenizer,
    readonly directory: ModelDirectory,
    /** The backend the workers run (the first worker's, as `auto` chose it there). */
    readonly backend: BackendInfo,
    /** The adapters every worker loaded. */
    readonly adapters: readonly string[],
    /** Worker threads: batches that can run at once. */
    readonly workers: number,
  ) {
    this.hiddenSize = directory.config.hidden_size;
    this.maxPositions = directory.config.max_position_embeddings;
  }

  static async load(dir: string, options: PoolOptions = {}): Promise<Specter2Pool> {
    const directory = openModelDirectory(dir);
    const workerData: WorkerConfig = { dir, backend: options.backend ?? "wasm", adapters: options.adapters ?? "all", threads: options.threads };
    const script = options.workerScript ?? siblingScript(__filename, __dirname, "worker");
    const workers = options.workers ?? availableParallelism();
    const pool = new WorkerPool<EmbedJob, EmbedResult, WorkerReady>(workers, () => spawnWorker(script, workerData), options.maxRetries);
    let ready: WorkerReady;
    try {
      ready = await pool.ready();
    } catch (e) {
      await pool.close();
      throw e;
    }
    return new Specter2Pool(pool, loadTokenizer(dir), directory, ready.backend, ready.adapters, workers);
  }

  /** One vector per input, in input order; the same options and results as Specter2.embed. */
  async embed(inputs: readonly EmbedInput[], options: EmbedOptions = {}): Promise<Float32Array[]> {
    const maxLength = options.maxLength ?? Math.min(DEFAULT_MAX_LENGTH, this.maxPositions);
    if (maxLength > this.maxPositions) throw new Error(`maxLength ${maxLength} exceeds the model's ${this.maxPositions} positions (max_position_embeddings)`);
    return this.embedIds(inputs.map((input) => this.tokenizer.encode(this.textOf(input), { maxLength }).ids), options);
  }

  /** Token ids (each `[CLS] … [SEP]`) → vectors in the same order, in length-sorted batches across the workers. */
  async embedIds(encoded: readonly number[][], options: Omit<EmbedOptions, "maxLength"> = {}): Promise<Float32Array[]> {
    const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
    const out = new Array<Float32Array>(encoded.length);
    const runs: Promise<void>[] = [];
    // Specter2.embed's batches, sent longest first: the costly ones start early, so the workers finish close together.
    for (const rows of lengthSortedBatches(encoded.map((ids) => ids.length), batchSize).reverse()) {
      const job: EmbedJob = { ids: rows.map((i) => encoded[i]), adapter: options.adapter, pooling: options.pooling ?? "cls" };
      runs.push(
        this.pool.run(job).then((flat) =>
          rows.forEach((row, k) => {
            out[row] = flat.slice(k * this.hiddenSize, (k + 1) * this.hiddenSize);
            checkFiniteVector(out[row], `input ${row}`);
          }),
        ),
      );
    }
    await Promise.all(runs);
    return out;
  }

  textOf(input: EmbedInput): string {
    return typeof input === "string" ? input : formatPaper(input.title ?? "", input.abstract, this.tokenizer.sepToken);
  }

  /** Finishes the batches under way and stops the workers. */
  close(): Promise<void> {
    return this.pool.close();
  }
}
