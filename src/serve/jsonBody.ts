// JSON request bodies, read so that large ones share the event loop with everything else. 64 clients
// sending 2 MiB each would otherwise hold it twice over: Node reads up to 2 MiB per connection per turn
// of the event loop (128 MiB in one turn), and Fastify's parser decodes bodies that finish together back
// to back (UTF-8 decoding of CJK text is slow); /health waits for all of it. Here a large body is read one
// chunk per turn (the connection is paused in between, which leaves the rest in the kernel), decoded and
// parsed in a worker thread, and handed on in a turn of its own, so that a probe waits for one such piece
// of work at most. Bodies nested too deep are refused before parsing (jsonDepth.ts).
import type { IncomingMessage } from "node:http";
import type { Worker } from "node:worker_threads";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { errorCodes } from "fastify";
import { siblingScript, spawnWorker } from "../node/specter2";
import { ApiError } from "./errors";
import { tooDeepAt, tooDeepMessage } from "./jsonDepth";
import type { Parsed } from "./jsonParseThread";

/** Bodies smaller than this are read and parsed at once: they cost too little to hold a probe. */
const LARGE_BODY_BYTES = 64 * 1024;

/** One task per turn of the event loop, in arrival order. */
class Turns {
  private readonly queue: (() => void)[] = [];
  private scheduled = false;

  run(task: () => void): void {
    this.queue.push(task);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.next);
    }
  }

  private readonly next = (): void => {
    const task = this.queue.shift();
    // An immediate scheduled from within an immediate runs in the next turn, after pending I/O.
    if (this.queue.length > 0) setImmediate(this.next);
    else this.scheduled = false;
    task?.();
  };
}

/**
 * Decoding and parsing off the main thread, in one worker thread (jsonParseThread.ts) that never holds the process,
 * one body at a time: the others wait here, so that a thread failing on a body (it answers for whatever it is
 * given, so it should not) costs that body's request alone, and the next body starts a new thread. A body's memory
 * moves to the thread (no copy; the caller must not use it after) and the value comes back (a memcpy of its
 * strings on this side, far cheaper than decoding them). Without a thread (none could start, or it
 * was closed), `parse` answers undefined and the caller parses on its own.
 */
class ParserThread {
  private worker: Worker | undefined;
  /** The worker has said it is ready: bodies are sent only then, so one that never started loses none. */
  private ready = false;
  private unavailable = false;
  private readonly waiting: ParseJob[] = [];
  /** The body the thread holds now. */
  private current: ParseJob | undefined;

  parse(body: Buffer): Promise<Parsed | undefined> {
    if (this.unavailable) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      this.waiting.push({ body, resolve });
      this.next();
    });
  }

  close(): void {
    this.unavailable = true;
    void this.worker?.terminate();
    this.withoutThread();
  }

  private next(): void {
    if (this.current || this.waiting.length === 0) return;
    const worker = this.start();
    if (!worker) return this.withoutThread();
    if (!this.ready) return; // sent once it is
    const job = (this.current = this.waiting.shift()!);
    // A body this large owns its memory whole (Buffer.concat allocates it outside Node's pool): moved.
    const owned = job.body.byteOffset === 0 && job.body.byteLength === job.body.buffer.byteLength;
    worker.postMessage(job.body, owned ? [job.body.buffer as ArrayBuffer] : []);
  }

  /** The bodies still here are parsed by their callers. */
  private withoutThread(): void {
    for (const job of this.waiting.splice(0)) job.resolve(undefined);
  }

  private start(): Worker | undefined {
    if (this.worker || this.unavailable) return this.worker;
    let worker: Worker;
    try {
      worker = spawnWorker(siblingScript(__filename, __dirname, "jsonParseThread"));
    } catch {
      this.unavailable = true;
      return undefined;
    }
    worker.unref();
    worker.on("message", (message: Parsed | "ready") => {
      if (message === "ready") this.ready = true;
      else {
        const job = this.current;
        this.current = undefined;
        job?.resolve(message);
      }
      this.next();
    });
    worker.on("error", () => undefined); // then "exit"
    worker.on("exit", () => {
      const job = this.current;
      this.worker = this.current = undefined;
      // One that never became ready cannot start here (a missing or broken script): parse on the main thread.
      if (!this.ready) this.unavailable = true;
      this.ready = false;
      job?.resolve(this.unavailable ? undefined : { failed: "the thread parsing it stopped" });
      this.next();
    });
    this.worker = worker;
    return worker;
  }
}

interface ParseJob {
  body: Buffer;
  resolve(parsed: Parsed | undefined): void;
}

type Done = (error: Error | null, body?: unknown) => void;

const tooDeep = (at: number) => new ApiError(400, tooDeepMessage(at), "invalid_request");

/**
 * Replaces Fastify's application/json parser with one that gives the same results and errors (a body over
 * `bodyLimit`: 413; other than its Content-Length: 400; empty or malformed JSON: 400; `__proto__` and
 * `constructor.prototype` keys refused), and refuses JSON nested deeper than MAX_JSON_DEPTH (400) before
 * parsing it, reading and parsing large bodies a piece per turn. `close()` stops its worker thread.
 */
export function readJsonBodies(app: FastifyInstance, bodyLimit: number): { close(): void } {
  const parse = app.getDefaultJsonParser("error", "error");
  const turns = new Turns();
  const thread = new ParserThread();
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", (request: FastifyRequest, payload: IncomingMessage, done: Done) => {
    const declared = Number(request.headers["content-length"]);
    if (declared > bodyLimit) {
      done(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE());
      return;
    }
    const chunks: Buffer[] = [];
    let bytes = 0;
    let finished = false;
    const finish: Done = (error, body) => {
      if (finished) return;
      finished = true;
      payload.removeListener("data", onData);
      payload.removeListener("end", onEnd);
      payload.removeListener("error", onError);
      done(error, body);
    };
    const onData = (chunk: Buffer | string) => {
      const buffer = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
      bytes += buffer.length;
      if (bytes > bodyLimit) return finish(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE());
      chunks.push(buffer);
      if (bytes >= LARGE_BODY_BYTES) {
        payload.pause();
        setImmediate(() => payload.resume());
      }
    };
    /** On the main thread: a small body, or a large one without a parsing thread. */
    const parseHere = (body: Buffer) => {
      const deep = tooDeepAt(body);
      // (Fastify's parser calls `done`; its type allows a promise, which it never returns.)
      if (deep >= 0) finish(tooDeep(deep));
      else void parse(request, body.toString("utf8"), finish);
    };
    const onEnd = () => {
      if (!Number.isNaN(declared) && bytes !== declared) return finish(new errorCodes.FST_ERR_CTP_INVALID_CONTENT_LENGTH());
      const body = Buffer.concat(chunks, bytes);
      if (bytes < LARGE_BODY_BYTES) parseHere(body);
      else {
        void thread.parse(body).then((parsed) =>
          turns.run(() => {
            if (parsed === undefined) parseHere(body);
            else if ("value" in parsed) finish(null, parsed.value);
            else if ("invalid" in parsed) finish(new errorCodes.FST_ERR_CTP_INVALID_JSON_BODY());
            else if ("tooDeepAt" in parsed) finish(tooDeep(parsed.tooDeepAt));
            else finish(new ApiError(400, `the JSON body could not be parsed: ${parsed.failed}`, "invalid_request"));
          }),
        );
      }
    };
    const onError = (error: Error & { statusCode?: number }) => {
      // As Fastify's own parser: a stream error without a client status is a 400.
      if (!(typeof error.statusCode === "number" && error.statusCode >= 400)) error.statusCode = 400;
      finish(error);
    };
    payload.on("data", onData);
    payload.on("end", onEnd);
    payload.on("error", onError);
  });
  return { close: () => thread.close() };
}
