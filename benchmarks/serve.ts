// Load test of `specter2 serve` on loopback: autocannon sends one paper per request (POST /embed,
// proximity) at several concurrencies; papers/s and latency are set against the library's offline
// batch throughput on the same model, measured in the same run.
// Run: npx ts-node --transpile-only benchmarks/serve.ts [--full] [--duration 10] [--concurrency 1,4,16]
import type { ChildProcess } from "node:child_process";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import autocannon from "autocannon";
import yargs from "yargs";
import { hideBin } from "yargs/helpers";
import type { Paper } from "../src/engine/inputs";
import { Specter2 } from "../src/specter2";
import { ensureFullModel } from "./fullModel";

const ROOT = join(__dirname, "..");
const papers = readFileSync(join(ROOT, "examples", "papers.jsonl"), "utf8")
  .trim()
  .split("\n")
  .map((l) => JSON.parse(l) as Paper);

/** The library's best offline rate: every paper once, sorted by length, batches of 8. */
async function offlinePapersPerSecond(dir: string, rounds: number): Promise<number> {
  const model = await Specter2.load(dir, { workers: 0, backend: "wasm" });
  try {
    await model.embed(papers, { adapter: "proximity" }); // warm-up
    const started = process.hrtime.bigint();
    for (let r = 0; r < rounds; r++) await model.embed(papers, { adapter: "proximity", batchSize: 8 });
    return (rounds * papers.length) / (Number(process.hrtime.bigint() - started) / 1e9);
  } finally {
    await model.close();
  }
}

function startServer(dir: string, maxBatchTokens: number): Promise<{ child: ChildProcess; url: string }> {
  const args = ["serve", "--model", dir, "--port", "0", "--backend", "wasm", "--max-batch-tokens", String(maxBatchTokens), "--max-concurrent-requests", "1024", "--request-timeout", "600"];
  const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", join(ROOT, "src", "cli", "main.ts"), ...args], { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    let url = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      url ||= /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(chunk)?.[1] ?? "";
      if (chunk.includes('"msg":"ready"')) resolve({ child, url });
    });
    child.once("exit", (code) => reject(new Error(`server exited with ${code}`)));
  });
}

async function main(): Promise<void> {
  const args = await yargs(hideBin(process.argv))
    .option("full", { type: "boolean", default: false, describe: "Full-size random SPECTER2 (benchmarks/fullModel.ts) instead of the demo model" })
    .option("duration", { type: "number", default: 10, describe: "Seconds per concurrency" })
    .option("concurrency", { type: "string", default: "1,4,16", describe: "Comma-separated client connections" })
    .option("max-batch-tokens", { type: "number", default: 4096 })
    .option("rounds", { type: "number", default: 5, describe: "Offline passes over the papers" })
    .strict()
    .parse();
  const dir = args.full ? (await ensureFullModel((l) => process.stderr.write(`${l}\n`))).model : join(ROOT, "weights", "specter2-tiny");
  const offline = await offlinePapersPerSecond(dir, args.rounds);
  const { child, url } = await startServer(dir, args["max-batch-tokens"]);
  const rows: string[] = [];
  try {
    const requests = papers.map((p) => ({
      method: "POST" as const,
      path: "/embed",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ papers: [p], adapter: "proximity" }),
    }));
    for (const connections of args.concurrency.split(",").map(Number)) {
      const r = await autocannon({ url, connections, duration: args.duration, requests });
      const perSecond = r.requests.total / args.duration;
      const failed = r.non2xx + r.errors + r.timeouts;
      rows.push(`| ${connections} | ${perSecond.toFixed(1)} | ${r.latency.p50} | ${r.latency.p99} | ${((100 * perSecond) / offline).toFixed(0)} % | ${failed} |`);
      process.stderr.write(`${rows[rows.length - 1]}\n`);
    }
  } finally {
    child.kill("SIGTERM");
  }
  const model = args.full ? "full-size random SPECTER2 (768/12/12/3072)" : "the demo model weights/specter2-tiny (hidden 64, 2 layers)";
  process.stdout.write(
    [
      `Model: ${model}, wasm backend, --max-batch-tokens ${args["max-batch-tokens"]}; ${args.duration} s per concurrency; ` +
        `one paper of examples/papers.jsonl per request (POST /embed, proximity). Offline library rate (embed, batches of 8): **${offline.toFixed(1)} papers/s**.`,
      "",
      "| connections | papers/s | p50 ms | p99 ms | of offline | failed |",
      "|---|---|---|---|---|---|",
      ...rows,
      "",
    ].join("\n"),
  );
}

main().catch((e: Error) => {
  process.stderr.write(`${e.stack}\n`);
  process.exit(1);
});
