// `specter2 serve` as a process: SIGTERM under load stops accepting, answers every accepted request
// correctly, and exits 0.
import type { ChildProcess } from "node:child_process";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { Specter2 } from "../../src/node/specter2";
import { maxAbsDiff, metric } from "../helpers/serve";

const ROOT = join(__dirname, "..", "..");
const MODEL = join(ROOT, "weights", "specter2-tiny");
const TEXTS = Array.from({ length: 8 }, (_, i) => `paper ${i} about ${"adapters ".repeat(4 * i)}`);
/** The server batches these with other requests: other padding, other summation order (see serve.load). */
const BATCHING_TOLERANCE = 1e-5;
const N = 120;

let child: ChildProcess;
afterAll(() => {
  if (child && child.exitCode === null) child.kill("SIGKILL");
});

/** Starts the CLI from source (transpiled on the fly, so no build is needed) and resolves with its URL once ready. */
function startCli(args: string[]): Promise<{ url: string; logs: string[] }> {
  child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", join(ROOT, "src", "cli", "main.ts"), "serve", ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  const logs: string[] = [];
  let url = "";
  return new Promise((resolve, reject) => {
    child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
      for (const line of chunk.split("\n").filter(Boolean)) {
        logs.push(line);
        url ||= /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(line)?.[1] ?? "";
        if (line.includes('"msg":"ready"')) resolve({ url, logs });
      }
    });
    child.stderr!.setEncoding("utf8").on("data", (chunk: string) => logs.push(chunk));
    child.once("exit", (code) => reject(new Error(`server exited with ${code} before ready:\n${logs.join("\n")}`)));
  });
}

it("SIGTERM under load: every accepted request is answered with its vectors, exit 0, then connections are refused", async () => {
  const model = await Specter2.load(MODEL, { workers: 0, backend: "wasm" });
  const expected = await model.embed(TEXTS, { adapter: "classification", maxLength: 64 });
  await model.close();

  // A small batch budget keeps requests waiting in the queue long enough to be caught by the signal.
  const { url, logs } = await startCli(["--model", MODEL, "--port", "0", "--backend", "wasm", "--max-batch-tokens", "64", "--max-length", "64", "--max-concurrent-requests", "200"]);
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  const answers = Array.from({ length: N }, (_, i) =>
    fetch(`${url}/embed`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ inputs: [TEXTS[i % 8], TEXTS[(i + 3) % 8]], adapter: "classification" }),
    }),
  );
  // Every request has reached the server (in flight or answered) before the signal.
  for (let t = 0; t < 500; t++) {
    if ((await metric(url, "specter2_requests_in_flight")) + (await metric(url, 'specter2_requests_total{route="/embed"')) >= N) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const inFlight = await metric(url, "specter2_requests_in_flight");
  child.kill("SIGTERM");

  const responses = await Promise.all(answers);
  for (const [i, res] of responses.entries()) {
    expect(res.status).toBe(200);
    const [a, b] = (await res.json()) as number[][];
    expect(maxAbsDiff(a, expected[i % 8])).toBeLessThanOrEqual(BATCHING_TOLERANCE);
    expect(maxAbsDiff(b, expected[(i + 3) % 8])).toBeLessThanOrEqual(BATCHING_TOLERANCE);
  }
  expect(await exited).toBe(0);
  // The signal really came under load, and the log says what happened.
  expect(inFlight).toBeGreaterThan(0);
  expect(logs.some((l) => l.includes('"signal":"SIGTERM"'))).toBe(true);
  expect(logs.some((l) => l.includes('"msg":"stopped"'))).toBe(true);
  await expect(fetch(`${url}/health`)).rejects.toThrow();
});
