// JSON request bodies, read so that large ones share the event loop with everything else. 64 clients
// sending 2 MiB each would otherwise hold it twice over: Node reads up to 2 MiB per connection per turn
// of the event loop (128 MiB in one turn, ~200 ms), and Fastify's parser decodes bodies that finish
// together back to back (~8 ms of UTF-8 decoding each for CJK text, on Node 20); /health waits for all of
// it. Here a large body is read one chunk per turn (the connection is paused in between, which leaves the
// rest in the kernel), decoded and parsed in a worker thread, and handed on in a turn of its own, so that
// a probe waits for a millisecond or two of work at most.
import type { IncomingMessage } from "node:http";
import { Worker } from "node:worker_threads";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { errorCodes } from "fastify";
import { ApiError } from "./errors";

/** Bodies smaller than this are read and parsed at once: they cost microseconds. */
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

/** What the worker thread makes of a body: its value, or that it is not valid JSON (or poisoned). */
type Parsed = { value: unknown } | { invalid: true };

/**
 * The worker's code: Buffer's own UTF-8 decoding (invalid bytes become U+FFFD as in Fastify's parser),
 * then what Fastify's default parser does (secure-json-parse with both actions "error": a leading BOM
 * dropped, JSON.parse, and an object holding an own `__proto__`, or a `constructor` with an own
 * `prototype`, refused; the two patterns are secure-json-parse's).
 */
const PARSER_THREAD = `
const { parentPort } = require("node:worker_threads");
const proto = /"(?:_|\\\\u005[Ff])(?:_|\\\\u005[Ff])(?:p|\\\\u0070)(?:r|\\\\u0072)(?:o|\\\\u006[Ff])(?:t|\\\\u0074)(?:o|\\\\u006[Ff])(?:_|\\\\u005[Ff])(?:_|\\\\u005[Ff])"\\s*:/;
const ctor = /"(?:c|\\\\u0063)(?:o|\\\\u006[Ff])(?:n|\\\\u006[Ee])(?:s|\\\\u0073)(?:t|\\\\u0074)(?:r|\\\\u0072)(?:u|\\\\u0075)(?:c|\\\\u0063)(?:t|\\\\u0074)(?:o|\\\\u006[Ff])(?:r|\\\\u0072)"\\s*:/;
const own = (o, k) => Object.prototype.hasOwnProperty.call(o, k);
function poisoned(root) {
  for (let next = [root]; next.length > 0; ) {
    const nodes = next;
    next = [];
    for (const node of nodes) {
      if (own(node, "__proto__")) return true;
      if (own(node, "constructor") && node.constructor !== null && typeof node.constructor === "object" && own(node.constructor, "prototype")) return true;
      for (const key in node) if (node[key] && typeof node[key] === "object") next.push(node[key]);
    }
  }
  return false;
}
parentPort.on("message", ({ id, body }) => {
  let text = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString("utf8");
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  let value;
  try {
    value = JSON.parse(text);
  } catch {
    return parentPort.postMessage({ id, parsed: { invalid: true } });
  }
  if (value !== null && typeof value === "object" && (proto.test(text) || ctor.test(text)) && poisoned(value)) {
    return parentPort.postMessage({ id, parsed: { invalid: true } });
  }
  parentPort.postMessage({ id, parsed: { value } });
});
`;

/**
 * Decoding and parsing off the main thread, in one worker thread that never holds the process: the body's
 * memory moves there (no copy; the caller must not use it after) and the value comes back (a memcpy of
 * its strings on this side, where decoding 2 MiB of CJK text takes ~8 ms). Without a thread (it failed,
 * or was closed), `parse` answers undefined and the caller parses on its own; a body the thread held when
 * it failed is "lost".
 */
class ParserThread {
  private worker: Worker | undefined;
  private readonly waiting = new Map<number, (parsed: Parsed | "lost") => void>();
  private nextId = 0;
  private closed = false;

  parse(body: Buffer): Promise<Parsed | "lost" | undefined> {
    const worker = this.start();
    if (!worker) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const id = this.nextId++;
      this.waiting.set(id, resolve);
      // A body this large owns its memory whole (Buffer.concat allocates it outside Node's pool): moved.
      const owned = body.byteOffset === 0 && body.byteLength === body.buffer.byteLength;
      worker.postMessage({ id, body }, owned ? [body.buffer as ArrayBuffer] : []);
    });
  }

  close(): void {
    this.closed = true;
    void this.worker?.terminate();
  }

  private start(): Worker | undefined {
    if (this.worker || this.closed) return this.worker;
    try {
      const worker = new Worker(PARSER_THREAD, { eval: true });
      worker.unref();
      worker.on("message", ({ id, parsed }: { id: number; parsed: Parsed }) => {
        this.waiting.get(id)?.(parsed);
        this.waiting.delete(id);
      });
      worker.on("error", () => undefined); // then "exit"
      worker.on("exit", () => {
        this.worker = undefined;
        for (const resolve of this.waiting.values()) resolve("lost");
        this.waiting.clear();
      });
      this.worker = worker;
      return worker;
    } catch {
      return undefined;
    }
  }
}

type Done = (error: Error | null, body?: unknown) => void;

/**
 * Replaces Fastify's application/json parser with one that gives the same results and errors (a body over
 * `bodyLimit`: 413; other than its Content-Length: 400; empty or malformed JSON: 400; `__proto__` and
 * `constructor.prototype` keys refused), reading and parsing large bodies a piece per turn. `close()`
 * stops its worker thread.
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
    const onEnd = () => {
      if (!Number.isNaN(declared) && bytes !== declared) return finish(new errorCodes.FST_ERR_CTP_INVALID_CONTENT_LENGTH());
      const body = Buffer.concat(chunks, bytes);
      // (Fastify's parser calls `done`; its type allows a promise, which it never returns.)
      if (bytes < LARGE_BODY_BYTES) void parse(request, body.toString("utf8"), finish);
      else {
        void thread.parse(body).then((parsed) =>
          turns.run(() => {
            if (parsed === undefined) void parse(request, body.toString("utf8"), finish);
            else if (parsed === "lost") finish(new ApiError(500, "the thread parsing request bodies failed; retry", "internal_error"));
            else if ("invalid" in parsed) finish(new errorCodes.FST_ERR_CTP_INVALID_JSON_BODY());
            else finish(null, parsed.value);
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
