// Shutdown with connections that never finish: close() and SIGTERM close idle, silent, half-header and
// half-body connections at once, still answer every request already read (those a client pipelined on one
// connection too, in order, whatever order they finish in), and are bounded by --shutdown-timeout.
import type { ChildProcess } from "node:child_process";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { Specter2 } from "../../src/node/specter2";
import type { RawConnection, Running, ServeProcess } from "../helpers/serve";
import { get, pipelinedRequests, post, postHead, rawConnection, startServeProcess, startService } from "../helpers/serve";

const ROOT = join(__dirname, "..", "..");
const MODEL = join(ROOT, "weights", "specter2-tiny");
const BODY = JSON.stringify({ model: "proximity", input: "citation recommendation" });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Connections that hold no accepted request: nothing sent, half the headers, half a body, and one idle
 *  (kept alive) after its answer. */
async function unfinished(url: string, waitMs: number): Promise<RawConnection[]> {
  const keptAlive = rawConnection(url, "GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", waitMs);
  await once(keptAlive.socket, "data");
  return [
    rawConnection(url, undefined, waitMs),
    rawConnection(url, "POST /embed HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le", waitMs),
    rawConnection(url, postHead("/v1/embeddings", 100) + BODY.slice(0, 10), waitMs),
    keptAlive,
  ];
}

/** Until `ready()` holds, for at most `ms`. */
async function until(ready: () => Promise<boolean>, ms = 5000): Promise<void> {
  for (const end = performance.now() + ms; performance.now() < end && !(await ready());) await sleep(20);
}

async function metric(url: string, name: string): Promise<number> {
  const line = ((await get(`${url}/metrics`)).body as string).split("\n").find((l) => l.startsWith(`${name} `));
  return Number(line?.split(" ").pop() ?? NaN);
}

describe("Service.close()", () => {
  let model: Specter2;
  beforeAll(async () => {
    model = await Specter2.load(MODEL, { workers: 0, backend: "wasm" });
  });
  afterAll(async () => {
    await model?.close();
  });

  function gateModel() {
    const original = model.embedBatch.bind(model);
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    let entered!: () => void;
    const running = new Promise<void>((r) => (entered = r));
    jest.spyOn(model, "embedBatch").mockImplementation(async (...args) => {
      entered();
      await gate;
      return original(...args);
    });
    return { running, release: () => open() };
  }

  it("closes unfinished and idle connections at once, answers the accepted request, then resolves", async () => {
    const server: Running = await startService(model);
    const gate = gateModel();
    const conns = await unfinished(server.url, 10_000);
    try {
      const accepted = post(`${server.url}/v1/embeddings`, JSON.parse(BODY));
      await gate.running;
      await until(async () => (await connectionCount(server)) >= 5);
      const t0 = performance.now();
      let closedAt = 0;
      const closing = server.service.close().then(() => (closedAt = performance.now() - t0));
      const responses = await Promise.all(conns.map((c) => c.response));
      // All four were closed by the server, within a moment of close() (not after a timeout).
      expect(responses.map((r) => r.closed)).toEqual([true, true, true, true]);
      const closedAfterClose = performance.now() - t0;
      expect(closedAfterClose).toBeLessThan(1000);
      expect(closedAt).toBe(0); // still waiting for the accepted request
      gate.release();
      const r = await accepted;
      expect(r.status).toBe(200);
      expect(r.body.data).toHaveLength(1);
      await closing;
      expect(closedAt).toBeLessThan(2000);
    } finally {
      gate.release();
      jest.restoreAllMocks();
      conns.forEach((c) => c.socket.destroy());
    }
  });

  it("requests pipelined on one connection are all answered, whatever order they finish in, and the connection then closes", async () => {
    const server = await startService(model, { shutdownTimeoutMs: 10_000 });
    const gate = gateModel();
    const body = JSON.stringify({ inputs: "x" });
    // A slow request, then a quick one behind it: the second is ready first, but must be sent second.
    const client = pipelinedRequests(server.url, [postHead("/embed", Buffer.byteLength(body)) + body, "GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"], 15_000, {
      untilClosed: true,
    });
    try {
      await gate.running;
      const t0 = performance.now();
      const closing = server.service.close();
      await sleep(100);
      gate.release();
      const answers = await client.answers;
      expect(answers.map((a) => a.status)).toEqual([200, 200]);
      expect(answers.map((a) => a.closed)).toEqual([true, true]); // the server closed the connection after both
      await closing;
      // At once, not after --shutdown-timeout (10 s here) waiting for a connection left open.
      expect(performance.now() - t0).toBeLessThan(3000);
    } finally {
      gate.release();
      jest.restoreAllMocks();
      client.socket.destroy();
    }
  });

  it("--shutdown-timeout bounds the wait: an accepted request not answered by then is cut off", async () => {
    const server = await startService(model, { shutdownTimeoutMs: 300 });
    const gate = gateModel();
    try {
      const accepted = post(`${server.url}/embed`, { inputs: "x" }).then(
        (r) => r.status,
        () => "closed unanswered",
      );
      await gate.running;
      const t0 = performance.now();
      await server.service.close();
      const took = performance.now() - t0;
      expect(took).toBeGreaterThanOrEqual(250);
      expect(took).toBeLessThan(2000);
      expect(await accepted).toBe("closed unanswered");
    } finally {
      gate.release();
      jest.restoreAllMocks();
    }
  });
});

function connectionCount(server: Running): Promise<number> {
  return new Promise((resolve, reject) => server.service.app.server.getConnections((e, n) => (e ? reject(e) : resolve(n))));
}

describe("`specter2 serve` and SIGTERM", () => {
  let child: ChildProcess | undefined;
  afterAll(() => {
    if (child && child.exitCode === null) child.kill("SIGKILL");
  });

  /** Starts the CLI from source (transpiled on the fly, as signal.test.ts does) and resolves with its URL once ready. */
  function startCli(args: string[]): Promise<{ url: string; logs: string[] }> {
    const proc = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", join(ROOT, "src", "cli", "main.ts"), "serve", ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    child = proc;
    const logs: string[] = [];
    let url = "";
    return new Promise((resolve, reject) => {
      proc.stdout.setEncoding("utf8").on("data", (chunk: string) => {
        for (const line of chunk.split("\n").filter(Boolean)) {
          logs.push(line);
          url ||= /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(line)?.[1] ?? "";
          if (line.includes('"msg":"ready"')) resolve({ url, logs });
        }
      });
      proc.stderr.setEncoding("utf8").on("data", (chunk: string) => logs.push(chunk));
      proc.once("exit", (code) => reject(new Error(`server exited with ${code} before ready:\n${logs.join("\n")}`)));
    });
  }

  it("idle, silent, half-header and half-body connections do not hold the process: exit 0 at once, the request in flight answered", async () => {
    // Many inputs in batches of one: the request is still computing when the signal comes.
    const { url, logs } = await startCli([
      "--model",
      MODEL,
      "--port",
      "0",
      "--backend",
      "wasm",
      "--workers",
      "0",
      "--max-length",
      "512",
      "--max-batch-tokens",
      "512",
      "--shutdown-timeout",
      "30",
    ]);
    const proc = child!;
    const exited = new Promise<number | null>((r) => proc.once("exit", (code) => r(code)));
    const conns = await unfinished(url, 40_000);
    try {
      const long = "adapters transformers citation graphs ".repeat(150);
      const inFlight = post(`${url}/embed`, { inputs: Array.from({ length: 32 }, (_, i) => `${i} ${long}`), adapter: "proximity" });
      await until(async () => (await metric(url, "specter2_requests_in_flight")) >= 1);
      expect(await metric(url, "specter2_requests_in_flight")).toBeGreaterThanOrEqual(1);
      const t0 = performance.now();
      proc.kill("SIGTERM");
      const r = await inFlight;
      expect(r.status).toBe(200);
      expect(r.body).toHaveLength(32);
      // Bounded: before the fix the process waited for these clients (150 s seen).
      const code = await Promise.race([exited, sleep(20_000).then(() => "still running")]);
      const took = performance.now() - t0;
      expect(code).toBe(0);
      // Well within --shutdown-timeout (30 s): the time to finish the accepted request and stop.
      expect(took).toBeLessThan(10_000);
      const responses = await Promise.all(conns.map((c) => c.response));
      expect(responses.map((c) => c.closed)).toEqual([true, true, true, true]);
      expect(logs.some((l) => l.includes('"msg":"stopped"'))).toBe(true);
      process.stdout.write(`SIGTERM → exit 0 in ${took.toFixed(0)} ms (the in-flight request answered meanwhile)\n`);
    } finally {
      conns.forEach((c) => c.socket.destroy());
    }
  });
});

describe("`specter2 serve` (dist) and SIGTERM with pipelined requests", () => {
  let server: ServeProcess | undefined;
  afterAll(() => {
    if (server && server.child.exitCode === null) server.child.kill("SIGKILL");
  });

  it("10 requests pipelined on one connection and read before SIGTERM are all answered 200, then exit 0", async () => {
    // One row per forward pass, in one worker: the 10 requests take seconds, so the signal comes while most wait.
    server = await startServeProcess(["--model", MODEL, "--backend", "wasm", "--workers", "1", "--max-length", "512", "--max-batch-tokens", "512"]);
    const { url, child, logs, exited } = server;
    const long = "adapters transformers citation graphs ".repeat(150);
    const requests = Array.from({ length: 10 }, (_, r) => {
      const body = JSON.stringify({ inputs: Array.from({ length: 16 }, (_, i) => `${r} ${i} ${long}`), adapter: "proximity" });
      return postHead("/embed", Buffer.byteLength(body)) + body;
    });
    const client = pipelinedRequests(url, requests, 60_000);
    try {
      // All 10 are read (in flight) before the signal.
      let inFlight = 0;
      await until(async () => (inFlight = await metric(url, "specter2_requests_in_flight")) >= 10);
      child.kill("SIGTERM");
      expect(inFlight).toBe(10);
      const answers = await client.answers;
      expect(answers.map((a) => a.status)).toEqual(Array(10).fill(200));
      for (const a of answers) expect(a.body).toHaveLength(16);
      // The last answer closes the connection; none before it does.
      expect(answers.slice(0, 9).map((a) => a.headers.connection)).toEqual(Array(9).fill("keep-alive"));
      expect(answers[9].headers.connection).toBe("close");
      expect(await Promise.race([exited, sleep(20_000).then(() => "still running")])).toBe(0);
      expect(logs.some((l) => l.includes('"msg":"stopped"'))).toBe(true);
      expect(logs.filter((l) => l.includes('"level":50'))).toEqual([]); // no error logged (before: 9 × "the worker pool is closed")
    } finally {
      client.socket.destroy();
    }
  });
});
