// A real server on 127.0.0.1 (ephemeral port) around a loaded model, or `specter2 serve` as a process; small JSON
// request helpers, and raw sockets for clients that misbehave (stall, trickle, never finish their headers, pipeline,
// send bodies nested deep).
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import type { ServeOptions } from "../../src/serve/context";
import type { Specter2 } from "../../src/node/specter2";
import type { Service } from "../../src/serve/server";
import { createService } from "../../src/serve/server";

export const TEST_OPTIONS: ServeOptions = {
  maxLength: 512,
  maxBatchTokens: 4096,
  maxConcurrentRequests: 1000,
  maxClientBatchSize: 32,
  maxBodyBytes: 64 * 1024,
  requestTimeoutMs: 30_000,
  logger: false,
};

export interface Running {
  service: Service;
  url: string;
}

export async function startService(model: Specter2, overrides: Partial<ServeOptions> = {}): Promise<Running> {
  const service = createService(model, { ...TEST_OPTIONS, ...overrides });
  const url = await service.app.listen({ host: "127.0.0.1", port: 0 });
  await service.warmUp();
  return { service, url };
}

export interface JsonResponse {
  status: number;
  headers: Headers;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

/** POSTs `body` (an object as JSON, or a raw string as it is). */
export async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<JsonResponse> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, body: await res.json() };
}

export async function get(url: string, headers: Record<string, string> = {}): Promise<JsonResponse> {
  const res = await fetch(url, { headers });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: res.headers.get("content-type")?.includes("json") ? JSON.parse(text) : text };
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

export interface RawResponse {
  /** 0: no answer came. */
  status: number;
  headers: Record<string, string>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  /** ms from the connection until the server closed it (or the wait ended, or the answer was in). */
  closedAfterMs: number;
  /** The server closed the connection (false: the wait ended first). */
  closed: boolean;
}

export interface RawConnection {
  socket: Socket;
  /** Resolves once the server closes the connection (or, with `untilAnswered`, once an answer is in), or
   *  after `waitMs`: whatever came back by then. */
  response: Promise<RawResponse>;
}

/**
 * Opens a connection to `url`'s host and port, writes `data` (if any) and collects what comes back. The
 * socket is destroyed when the wait ends, so nothing outlives it.
 */
export function rawConnection(url: string, data: string | undefined, waitMs: number, { untilAnswered = false } = {}): RawConnection {
  const { hostname, port } = new URL(url);
  const t0 = performance.now();
  const socket = connect(Number(port), hostname, () => {
    if (data !== undefined) socket.write(data);
  });
  const chunks: Buffer[] = [];
  socket.on("error", () => {}); // a reset is an answer too: "closed"
  const response = new Promise<RawResponse>((resolve) => {
    let done = false;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ ...parseResponse(Buffer.concat(chunks).toString("utf8")), closedAfterMs: performance.now() - t0, closed });
    };
    const timer = setTimeout(() => finish(false), waitMs);
    socket.once("close", () => finish(true));
    socket.on("data", (d: Buffer) => {
      chunks.push(d);
      // With `untilAnswered`, a whole answer (its Content-Length of body in) ends the wait.
      if (untilAnswered && isComplete(Buffer.concat(chunks).toString("utf8"))) finish(false);
    });
  });
  return { socket, response };
}

function isComplete(text: string): boolean {
  const end = text.indexOf("\r\n\r\n");
  const length = /\r\ncontent-length: *(\d+)/i.exec(text.slice(0, end))?.[1];
  return end >= 0 && length !== undefined && Buffer.byteLength(text.slice(end + 4)) >= Number(length);
}

function parseResponse(text: string): Omit<RawResponse, "closedAfterMs" | "closed"> {
  const end = text.indexOf("\r\n\r\n");
  if (end < 0) return { status: 0, headers: {}, body: undefined };
  const [statusLine, ...lines] = text.slice(0, end).split("\r\n");
  const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(":")).toLowerCase(), l.slice(l.indexOf(":") + 1).trim()]));
  const rest = text.slice(end + 4);
  let body: unknown = rest;
  try {
    body = JSON.parse(rest);
  } catch {
    // not JSON: kept as text
  }
  return { status: Number(statusLine.split(" ")[1]), headers, body };
}

/** The head of a POST whose body is `contentLength` bytes, for a client that then sends less, or slowly. */
export function postHead(path: string, contentLength: number, headers: Record<string, string> = {}): string {
  const extra = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
  return `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${contentLength}\r\n${extra.join("")}\r\n`;
}

/** Once the connection is established. */
export async function connected(c: RawConnection): Promise<void> {
  if (c.socket.connecting) await once(c.socket, "connect");
}

/** A metric of the server at `url`: the sum of the /metrics lines that start with `prefix` (a name, or a name and
 *  the start of its labels). */
export async function metric(url: string, prefix: string): Promise<number> {
  const text = (await get(`${url}/metrics`)).body as string;
  return text
    .split("\n")
    .filter((l) => l.startsWith(prefix))
    .reduce((n, l) => n + Number(l.split(" ").pop()), 0);
}

/** A JSON body whose `field` holds arrays nested `depth` deep (`[[[…]]]`, 2 bytes a level): valid JSON that a
 *  recursive parser or serializer cannot follow. With `inPaper`, they sit in an extra field of a paper, which the
 *  schemas allow (records are sent as stored). */
export function deeplyNestedBody(depth: number, { inPaper = false } = {}): string {
  const nested = "[".repeat(depth) + "]".repeat(depth);
  return inPaper ? `{"papers":[{"title":"a paper","extra":${nested}}]}` : `{"input":${nested}}`;
}

export interface ServeProcess {
  child: ChildProcess;
  url: string;
  /** stdout's JSON log lines and stderr's chunks, as they come. */
  logs: string[];
  exited: Promise<number | null>;
}

const CLI = join(__dirname, "..", "..", "dist", "src", "cli", "main.js");

/**
 * `specter2 serve` as a user runs it (dist/src/cli/main.js: build with `npx tsc -p tsconfig.json` first) with
 * `--port 0` added; resolves once it logs "ready". The caller kills it (afterAll: SIGKILL if still running).
 */
export function startServeProcess(args: string[]): Promise<ServeProcess> {
  const child = spawn(process.execPath, [CLI, "serve", "--port", "0", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  const logs: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  let url = "";
  return new Promise((resolve, reject) => {
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      for (const line of chunk.split("\n").filter(Boolean)) {
        logs.push(line);
        url ||= /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(line)?.[1] ?? "";
        if (line.includes('"msg":"ready"')) resolve({ child, url, logs, exited });
      }
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => logs.push(chunk));
    void exited.then((code) => reject(new Error(`specter2 serve exited with ${code} before ready:\n${logs.join("\n")}`)));
  });
}

/**
 * A client that pipelines: writes every request of `requests` (whole HTTP/1.1 requests) in one write on one
 * connection, then collects the answers in order until `requests.length` are in (with `untilClosed`, until the
 * server closes), the server closes, or `waitMs`.
 */
export function pipelinedRequests(url: string, requests: string[], waitMs: number, { untilClosed = false } = {}): { socket: Socket; answers: Promise<RawResponse[]> } {
  const { hostname, port } = new URL(url);
  const t0 = performance.now();
  const socket = connect(Number(port), hostname, () => socket.write(requests.join("")));
  socket.on("error", () => {});
  let pending = Buffer.alloc(0);
  const answers: RawResponse[] = [];
  return {
    socket,
    answers: new Promise((resolve) => {
      let done = false;
      const finish = (closed: boolean) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        socket.destroy();
        for (const a of answers) a.closed = closed;
        resolve(answers);
      };
      const timer = setTimeout(() => finish(false), waitMs);
      socket.once("close", () => finish(true));
      socket.on("data", (d: Buffer) => {
        pending = Buffer.concat([pending, d]);
        // Each answer is its head and Content-Length bytes of body.
        for (;;) {
          const end = pending.indexOf("\r\n\r\n");
          const length = end < 0 ? undefined : /\r\ncontent-length: *(\d+)/i.exec(pending.subarray(0, end).toString("latin1"))?.[1];
          if (length === undefined || pending.length < end + 4 + Number(length)) break;
          const size = end + 4 + Number(length);
          answers.push({ ...parseResponse(pending.subarray(0, size).toString("utf8")), closedAfterMs: performance.now() - t0, closed: false });
          pending = pending.subarray(size);
        }
        if (answers.length === requests.length && !untilClosed) finish(false);
      });
    }),
  };
}
