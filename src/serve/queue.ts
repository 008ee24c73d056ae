// Dynamic batching across requests: rows wait here, all in one line (mixing adapters: each row's adapter runs on
// its rows inside the shared forward pass: RowAdapters, src/model/adapter.ts) or grouped by adapter; at most `maxParallel`
// batches run at once (one per worker thread; on the main thread one, since tfjs kernels run synchronously and
// two batches would only interleave), and every vector goes back to its own request and position. A request's
// rows may be spread over several batches.
import type { BatchAdapters } from "../engine/inputs";
import { planBatch } from "./batchPlan";
import { ApiError } from "./errors";
import type { PassCost } from "./batchPlan";

/** Runs one padded batch of token rows through the model: one adapter for all (null: the base), or one per row. */
export type RunBatch = (rows: number[][], adapter: BatchAdapters) => Promise<Float32Array[]>;

export interface BatchReport {
  /** Real tokens per adapter in the batch (null: the base); more than one entry when adapters were mixed. */
  tokensByAdapter: [string | null, number][];
  rows: number;
  /** Real tokens (without padding). */
  tokens: number;
  /** rows × longest row: what the forward pass computed. */
  paddedTokens: number;
  seconds: number;
  /** The padding a row may now add to join a batch (PassCost, ./batchPlan.ts); Infinity: up to the budget. */
  overheadTokens: number;
  /** What each adapter beyond the first now costs a batch, as a fraction of its padded tokens (PassCost). */
  groupCost: number;
}

export interface QueueObserver {
  batch(report: BatchReport): void;
  depth(rows: number): void;
}

interface Job {
  out: Float32Array[];
  remaining: number;
  resolve(vectors: Float32Array[]): void;
  reject(error: Error): void;
  done: boolean;
}

interface Row {
  job: Job;
  index: number;
  ids: number[];
  seq: number;
  adapter: string | null;
}

/** The one line every row waits in when adapters are mixed. */
const MIXED: unique symbol = Symbol("mixed");
type LineKey = string | null | typeof MIXED;

export class BatchQueue {
  private readonly pending = new Map<LineKey, Row[]>();
  private depth = 0;
  private seq = 0;
  /** Batches now running. */
  private running = 0;
  /** A look at the queue is scheduled for the next turn of the event loop. */
  private scheduled = false;

  constructor(
    private readonly run: RunBatch,
    private readonly maxBatchTokens: number,
    private readonly observer?: QueueObserver,
    private readonly maxParallel = 1,
    /** Rows of every adapter share batches (the oldest row still goes first); else each adapter has its own line. */
    private readonly mixAdapters = false,
    /** Weighs padding against passes (src/serve/batchPlan.ts); without it batches fill the token budget. */
    private readonly passCost?: PassCost,
  ) {
    if (!Number.isInteger(maxParallel) || maxParallel < 1) throw new Error(`a queue runs at least one batch at a time (got ${maxParallel})`);
  }

  private get overheadTokens(): number {
    return this.passCost?.overheadTokens ?? Infinity;
  }

  /** Rows waiting for a batch. */
  get pendingRows(): number {
    return this.depth;
  }

  /** One vector per row, in order. An aborted signal drops the rows still waiting and rejects. */
  submit(adapter: string | null, rows: number[][], signal?: AbortSignal): Promise<Float32Array[]> {
    if (rows.length === 0) return Promise.resolve([]);
    const tooLong = rows.find((r) => r.length > this.maxBatchTokens);
    if (tooLong) throw new Error(`a row of ${tooLong.length} tokens exceeds the batch budget of ${this.maxBatchTokens}`);
    return new Promise((resolve, reject) => {
      const job: Job = { out: new Array<Float32Array>(rows.length), remaining: rows.length, resolve, reject, done: false };
      const onAbort = () => {
        this.drop(job);
        this.finish(job, signal!.reason instanceof Error ? signal!.reason : new Error("aborted"));
      };
      if (signal) {
        if (signal.aborted) return onAbort();
        signal.addEventListener("abort", onAbort, { once: true });
        job.resolve = (v) => (signal.removeEventListener("abort", onAbort), resolve(v));
        job.reject = (e) => (signal.removeEventListener("abort", onAbort), reject(e));
      }
      const key: LineKey = this.mixAdapters ? MIXED : adapter;
      const group = this.pending.get(key) ?? [];
      rows.forEach((ids, index) => group.push({ job, index, ids, seq: this.seq++, adapter }));
      this.pending.set(key, group);
      this.setDepth(this.depth + rows.length);
      this.start();
    });
  }

  private start(): void {
    if (this.scheduled || this.running >= this.maxParallel) return;
    this.scheduled = true;
    // Let requests that arrived meanwhile join before a batch is formed.
    setImmediate(() => {
      this.scheduled = false;
      while (this.running < this.maxParallel) {
        const next = this.take();
        if (!next) return;
        this.running++;
        void this.runBatch(next.adapter, next.rows).finally(() => {
          this.running--;
          this.start();
        });
      }
    });
  }

  /** The next batch: from the line whose oldest row has waited longest. */
  private take(): { adapter: LineKey; rows: Row[] } | undefined {
    let adapter: LineKey | undefined;
    let oldest = Infinity;
    for (const [name, rows] of this.pending) {
      if (rows[0].seq < oldest) {
        adapter = name;
        oldest = rows[0].seq;
      }
    }
    if (adapter === undefined) return undefined;
    const group = this.pending.get(adapter)!;
    const chosen = planBatch(
      group.map((r) => r.ids.length),
      this.maxBatchTokens,
      {
        overheadTokens: this.overheadTokens,
        groups: adapter === MIXED ? group.map((r) => r.adapter) : undefined,
        groupCost: this.passCost?.groupCost,
      },
    ).map((i) => group[i]);
    const taken = new Set(chosen);
    const rest = group.filter((r) => !taken.has(r));
    if (rest.length > 0) this.pending.set(adapter, rest);
    else this.pending.delete(adapter);
    this.setDepth(this.depth - chosen.length);
    return { adapter, rows: chosen };
  }

  private async runBatch(line: LineKey, rows: Row[]): Promise<void> {
    const started = process.hrtime.bigint();
    const adapters = line === MIXED ? rows.map((r) => r.adapter) : [line];
    const uniform = adapters.every((a) => a === adapters[0]);
    let vectors: Float32Array[];
    try {
      vectors = await this.run(
        rows.map((r) => r.ids),
        uniform ? adapters[0] : adapters,
      );
    } catch (e) {
      const error = new ApiError(500, `the model failed on a batch: ${(e as Error).message}`, "inference_failed");
      for (const job of new Set(rows.map((r) => r.job))) {
        this.drop(job); // its other rows, still waiting, need not run
        this.finish(job, error);
      }
      return;
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const longest = rows.reduce((m, r) => Math.max(m, r.ids.length), 0);
    const tokens = rows.reduce((n, r) => n + r.ids.length, 0);
    const tokensByAdapter = new Map<string | null, number>();
    for (const r of rows) tokensByAdapter.set(r.adapter, (tokensByAdapter.get(r.adapter) ?? 0) + r.ids.length);
    this.passCost?.observe(longest * rows.length, seconds, tokensByAdapter.size);
    this.observer?.batch({
      tokensByAdapter: [...tokensByAdapter],
      rows: rows.length,
      tokens,
      paddedTokens: longest * rows.length,
      seconds,
      overheadTokens: this.overheadTokens,
      groupCost: this.passCost?.groupCost ?? 0,
    });
    rows.forEach((row, k) => {
      const job = row.job;
      if (job.done) return; // aborted while its batch ran
      job.out[row.index] = vectors[k];
      if (--job.remaining === 0) this.finish(job);
    });
  }

  /** Removes a job's rows that still wait. */
  private drop(job: Job): void {
    for (const [adapter, rows] of this.pending) {
      const rest = rows.filter((r) => r.job !== job);
      if (rest.length === rows.length) continue;
      this.setDepth(this.depth - (rows.length - rest.length));
      if (rest.length > 0) this.pending.set(adapter, rest);
      else this.pending.delete(adapter);
    }
  }

  private finish(job: Job, error?: Error): void {
    if (job.done) return;
    job.done = true;
    if (error) job.reject(error);
    else job.resolve(job.out);
  }

  private setDepth(rows: number): void {
    this.depth = rows;
    this.observer?.depth(rows);
  }
}
