// A fixed-size pool of worker threads that each run one job at a time. A worker that dies while holding a
// job is replaced and the job retried (up to `maxRetries` times); a worker that cannot start breaks the pool,
// since its replacement would fail the same way.

/** What the pool needs of a worker: Node's worker_threads Worker as it is, a Web Worker through src/web/webWorker.ts. */
export interface PoolWorker {
  /** "message" with each message, "error" with an uncaught error, "exit" with a code once the worker is gone (a
   *  Web Worker reports its uncaught error, then this). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each event has its own argument type, as in Node's Worker
  on(event: "message" | "error" | "exit", listener: (value: any) => void): unknown;
  postMessage(message: unknown): void;
  terminate(): Promise<unknown> | void;
}
import type { ErrorCode, ErrorDetails } from "../errors";
import { Specter2Error } from "../errors";

/** An error as it crosses the thread boundary: a Specter2Error keeps its code and details. */
export interface SerializedError {
  message: string;
  code?: ErrorCode;
  details?: ErrorDetails;
}

export function serializeError(e: unknown): SerializedError {
  if (e instanceof Specter2Error) return { message: e.message, code: e.code, details: e.details() };
  return { message: e instanceof Error ? e.message : String(e) };
}

/** The worker's error on this side, its message prefixed with what failed (`context`); code WORKER_FAILED if it had none. */
function deserializeError(e: SerializedError, context = ""): Specter2Error {
  return new Specter2Error(e.code ?? "WORKER_FAILED", `${context}${e.message}`, e.details);
}

/** What a worker script posts back: "ready" once after loading (with what it loaded, `I`), then one reply per job. */
export type WorkerMessage<R, I = undefined> =
  { type: "ready"; info: I } | { type: "loadError"; error: SerializedError } | { type: "result"; id: number; result: R } | { type: "jobError"; id: number; error: SerializedError };

export interface PoolJob<J> {
  id: number;
  job: J;
}

interface Pending<J, R> {
  id: number;
  job: J;
  attempts: number;
  resolve: (r: R) => void;
  reject: (e: Error) => void;
}

interface Slot<J, R> {
  worker: PoolWorker;
  ready: boolean;
  current: Pending<J, R> | null;
}

export class WorkerPool<J, R, I = undefined> {
  private readonly slots = new Set<Slot<J, R>>();
  private readonly queue: Pending<J, R>[] = [];
  private nextId = 0;
  private broken: Error | null = null;
  private closing = false;
  private readonly started: Promise<I>;
  private markStarted!: (ok: Error | null) => void;
  private startedCount = 0;
  /** The first worker's "ready" info: every worker loads the same configuration. */
  private info: I | undefined;
  /** Set by close(): called once no worker holds a job. */
  private onIdle: (() => void) | null = null;

  /** `spawn` starts one worker whose script speaks WorkerMessage and takes PoolJob messages. */
  constructor(
    private readonly size: number,
    private readonly spawn: () => PoolWorker,
    private readonly maxRetries = 2,
  ) {
    if (!Number.isInteger(size) || size < 1) throw new Error(`a pool needs at least one worker (got ${size})`);
    this.started = new Promise((resolve, reject) => (this.markStarted = (e) => (e ? reject(e) : resolve(this.info as I))));
    this.started.catch(() => {}); // observed through ready(); unobserved, a rejection must not crash the process
    for (let i = 0; i < size; i++) this.addWorker();
  }

  /** Resolves once every first worker has loaded, with the first one's "ready" info; rejects if one could not. */
  ready(): Promise<I> {
    return this.started;
  }

  run(job: J): Promise<R> {
    if (this.broken) return Promise.reject(this.broken);
    if (this.closing) return Promise.reject(new Error("the worker pool is closed"));
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, job, attempts: 0, resolve, reject });
      this.dispatch();
    });
  }

  /** Waits for running jobs, rejects queued ones, and stops every worker. */
  async close(): Promise<void> {
    this.closing = true;
    const error = new Error("the worker pool was closed");
    this.failQueued(error);
    this.markStarted(error);
    await new Promise<void>((resolve) => {
      this.onIdle = resolve;
      this.checkIdle();
    });
    const workers = [...this.slots].map((s) => s.worker);
    this.slots.clear();
    await Promise.all(workers.map(async (w) => w.terminate()));
  }

  private addWorker(): void {
    const slot: Slot<J, R> = { worker: this.spawn(), ready: false, current: null };
    this.slots.add(slot);
    slot.worker.on("message", (m: WorkerMessage<R, I>) => this.onMessage(slot, m));
    // An uncaught exception in the worker arrives as "error" and is followed by "exit": handled there.
    slot.worker.on("error", () => {});
    slot.worker.on("exit", (code: number) => this.onExit(slot, code));
  }

  private onMessage(slot: Slot<J, R>, m: WorkerMessage<R, I>): void {
    if (m.type === "ready") {
      slot.ready = true;
      if (this.startedCount === 0) this.info = m.info;
      if (++this.startedCount === this.size) this.markStarted(null);
    } else if (m.type === "loadError") {
      this.breakPool(deserializeError(m.error, "a pool worker could not load the model: "));
    } else {
      const job = slot.current;
      if (!job || job.id !== m.id) return;
      slot.current = null;
      if (m.type === "result") job.resolve(m.result);
      else job.reject(deserializeError(m.error));
    }
    this.dispatch();
  }

  private onExit(slot: Slot<J, R>, code: number): void {
    if (!this.slots.delete(slot) || this.broken) return;
    if (this.closing) {
      slot.current?.reject(new Specter2Error("WORKER_FAILED", `a pool worker exited with code ${code} while the pool was closing`));
      this.checkIdle();
      return;
    }
    if (!slot.ready) {
      this.breakPool(new Specter2Error("WORKER_FAILED", `a pool worker exited with code ${code} while loading`));
      return;
    }
    const job = slot.current;
    if (job) {
      if (job.attempts < this.maxRetries) {
        job.attempts++;
        this.queue.unshift(job);
      } else {
        job.reject(new Specter2Error("WORKER_FAILED", `a pool worker exited with code ${code} on this batch ${job.attempts + 1} times`));
      }
    }
    this.addWorker();
  }

  private dispatch(): void {
    this.checkIdle();
    for (const slot of this.slots) {
      if (this.queue.length === 0) return;
      if (!slot.ready || slot.current) continue;
      const job = this.queue.shift()!;
      slot.current = job;
      slot.worker.postMessage({ id: job.id, job: job.job } satisfies PoolJob<J>);
    }
  }

  private checkIdle(): void {
    if (this.onIdle && [...this.slots].every((s) => !s.current)) this.onIdle();
  }

  private breakPool(error: Error): void {
    if (this.broken) return;
    this.broken = error;
    this.markStarted(error);
    this.failQueued(error);
    for (const slot of this.slots) {
      slot.current?.reject(error);
      slot.current = null;
      void slot.worker.terminate();
    }
    this.slots.clear();
  }

  private failQueued(error: Error): void {
    for (const job of this.queue.splice(0)) job.reject(error);
  }
}
