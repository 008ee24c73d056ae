// How fast a server answers /health while clients send it megabyte texts. The probe and the load each run in a
// process of their own, so that their clocks run while the server's event loop may be held.
import { execFile, spawn } from "node:child_process";
import { promisify } from "node:util";

/** GET /health every 20 ms until SIGTERM (or 120 s), then its [status, ms] pairs on stdout. */
const PROBE = `
const http = require("node:http");
const { hostname, port } = new URL(process.argv[1]);
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const health = [];
let stop = false;
process.on("SIGTERM", () => (stop = true));
(async () => {
  const end = performance.now() + 120000;
  while (!stop && performance.now() < end) {
    const t = performance.now();
    const status = await new Promise((resolve) => {
      const req = http.get({ hostname, port, path: "/health", agent }, (res) => (res.resume(), res.on("end", () => resolve(res.statusCode))));
      req.on("error", () => resolve(0));
    });
    health.push([status, performance.now() - t]);
    await new Promise((r) => setTimeout(r, 20));
  }
  console.log(JSON.stringify(health));
  agent.destroy();
})();
console.log("probing");`;

/** `clients` clients, each `perClient` POST /v1/embeddings of `chars` CJK characters, one after another (until
 *  `deadlineMs`); prints their statuses. */
const LOAD = `
const http = require("node:http");
const [url, clients, perClient, chars, deadlineMs] = JSON.parse(process.argv[1]);
const { hostname, port } = new URL(url);
const base = "中文的科学论文摘要研究方法与结果";
const text = base.repeat(Math.ceil(chars / base.length)).slice(0, chars);
const body = Buffer.from(JSON.stringify({ model: "proximity", input: text }));
const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
const post = () => new Promise((resolve) => {
  const req = http.request({ hostname, port, method: "POST", path: "/v1/embeddings", agent, headers: { "content-type": "application/json", "content-length": body.length } }, (res) => {
    res.resume();
    res.on("end", () => resolve(res.statusCode));
  });
  req.on("error", () => resolve(0));
  req.end(body);
});
const t0 = performance.now();
(async () => {
  const statuses = [];
  await Promise.all(Array.from({ length: clients }, async () => {
    for (let i = 0; i < perClient && performance.now() - t0 < deadlineMs; i++) statuses.push(await post());
  }));
  console.log(JSON.stringify({ statuses, bodyBytes: body.length, seconds: (performance.now() - t0) / 1000 }));
  agent.destroy();
})();`;

export interface Load {
  clients: number;
  requestsPerClient: number;
  /** CJK characters per text (3 bytes each in UTF-8). */
  chars: number;
  /** The load stops sending after this. */
  deadlineMs: number;
}

export interface HealthUnderLoad {
  /** The status of every request of the load (0: no answer). */
  statuses: number[];
  bodyBytes: number;
  /** How long the load took. */
  seconds: number;
  /** Every probe of /health: [status, ms]. */
  health: [number, number][];
}

/** Probes /health of the server at `url` every 20 ms while `load` runs against it. */
export async function healthUnderLoad(url: string, load: Load): Promise<HealthUnderLoad> {
  const probe = spawn(process.execPath, ["-e", PROBE, url], { stdio: ["ignore", "pipe", "inherit"] });
  let probeOut = "";
  probe.stdout.setEncoding("utf8").on("data", (d: string) => (probeOut += d));
  const probeExit = new Promise((r) => probe.once("exit", r));
  try {
    for (let t = 0; t < 250 && !probeOut.includes("probing"); t++) await new Promise((r) => setTimeout(r, 20));
    const { stdout } = await promisify(execFile)(process.execPath, ["-e", LOAD, JSON.stringify([url, load.clients, load.requestsPerClient, load.chars, load.deadlineMs])], {
      timeout: load.deadlineMs + 30_000,
    });
    probe.kill("SIGTERM");
    await probeExit;
    const health = JSON.parse(probeOut.slice(probeOut.indexOf("\n") + 1)) as [number, number][];
    return { ...(JSON.parse(stdout) as Omit<HealthUnderLoad, "health">), health };
  } finally {
    if (probe.exitCode === null) probe.kill("SIGKILL");
  }
}

/** The `q` quantile (0–1) of `xs`, by rank. */
export function percentile(xs: number[], q: number): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}
