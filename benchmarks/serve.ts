// Load test of `specter2 serve` on loopback under mixed traffic: autocannon sends one paper per request (POST /embed),
// each with a paper and adapter drawn at random (evenly over the model's adapters), at several concurrencies, with the
// server mixing adapters in one forward pass and with it batching each adapter apart (--no-mix-adapters). Papers/s and
// latency are set against the library's offline rate on the same papers and adapters, measured in the same run. The
// server is the built one (dist/, `npm run build`), as users run it; the run stops if dist/ is missing or older than src/.
// Run: npx ts-node --transpile-only benchmarks/serve.ts [--full] [--backend native] [--duration 120] [--concurrency 1,8,32,64]
import type { ChildProcess } from "node:child_process";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import autocannon from "autocannon";
import yargs from "yargs";
import { hideBin } from "yargs/helpers";
import { nativeAddonBuilt } from "../src/backend/native/addon";
import type { Paper } from "../src/engine/inputs";
import { Specter2 } from "../src/node/specter2";
import { CLI_BIN, DEMO_MODEL, PAPERS_FILE, requireBuiltCli } from "../test/helpers/builtCli";
import { ensureFullModel } from "./fullModel";

const papers = readFileSync(PAPERS_FILE, "utf8")
  .trim()
  .split("\n")
  .map((l) => JSON.parse(l) as Paper);

/** Every paper with every adapter, the adapters rotating request by request: traffic spread evenly over them. */
function mixedTraffic(adapters: string[]): { paper: Paper; adapter: string }[] {
  return papers.flatMap((paper, i) => adapters.map((_, j) => ({ paper, adapter: adapters[(i + j) % adapters.length] })));
}

/** The library's offline rate on the same traffic: all of it at once, in length-sorted batches of 8, with the traffic's
 *  adapters mixed per row, or with `oneAdapter` for every row. */
async function offlinePapersPerSecond(dir: string, backend: string, traffic: { paper: Paper; adapter: string }[], rounds: number, oneAdapter?: string): Promise<number> {
  const model = await Specter2.load(dir, { workers: 0, backend: backend as "native" | "wasm" });
  try {
    const inputs = traffic.map((t) => t.paper);
    const adapter = oneAdapter ?? traffic.map((t) => t.adapter);
    await model.embed(inputs, { adapter }); // warm-up
    const started = process.hrtime.bigint();
    for (let r = 0; r < rounds; r++) await model.embed(inputs, { adapter, batchSize: 8 });
    return (rounds * inputs.length) / (Number(process.hrtime.bigint() - started) / 1e9);
  } finally {
    await model.close();
  }
}

function startServer(dir: string, backend: string, maxBatchTokens: number, mix: boolean, workers: number | undefined): Promise<{ child: ChildProcess; url: string }> {
  const args = ["serve", "--model", dir, "--port", "0", "--backend", backend, "--max-batch-tokens", String(maxBatchTokens), "--max-concurrent-requests", "1024", "--request-timeout", "600"];
  if (!mix) args.push("--no-mix-adapters");
  if (workers !== undefined) args.push("--workers", String(workers));
  const child = spawn(process.execPath, [CLI_BIN, ...args], { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    let url = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      url ||= /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(chunk)?.[1] ?? "";
      if (chunk.includes('"msg":"ready"')) resolve({ child, url });
    });
    child.once("exit", (code) => reject(new Error(`server exited with ${code}`)));
  });
}

/** The server's counts of forward passes, of adapters and rows in them, its learned pass overhead, and its peak RSS. */
async function serverMetrics(url: string): Promise<{ batches: number; adapters: number; rows: number; overhead: number; adapterCost: number; peakRssBytes: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1] ?? 0);
  return {
    batches: value("specter2_batch_adapters_count"),
    adapters: value("specter2_batch_adapters_sum"),
    rows: value("specter2_batch_size_sum"),
    overhead: value("specter2_batch_pass_overhead_tokens"),
    adapterCost: value("specter2_batch_adapter_cost"),
    peakRssBytes: value("specter2_process_peak_resident_memory_bytes"),
  };
}

async function main(): Promise<void> {
  const args = await yargs(hideBin(process.argv))
    .option("full", { type: "boolean", default: false, describe: "Full-size random SPECTER2 (benchmarks/fullModel.ts) instead of the demo model" })
    .option("backend", { type: "string", default: nativeAddonBuilt() ? "native" : "wasm" })
    .option("duration", { type: "number", default: 120, describe: "Seconds per point (concurrency × mixing)" })
    .option("concurrency", { type: "string", default: "1,8,32,64", describe: "Comma-separated client connections" })
    .option("max-batch-tokens", { type: "number", default: 4096 })
    .option("workers", { type: "number", describe: "The server's --workers (default: its own)" })
    .option("rounds", { type: "number", default: 3, describe: "Offline passes over the traffic (0: none, for a memory run)" })
    .strict()
    .parse();
  requireBuiltCli();
  const dir = args.full ? (await ensureFullModel((l) => process.stderr.write(`${l}\n`))).model : DEMO_MODEL;
  const adapters = Object.keys((JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as { adapters: Record<string, unknown> }).adapters);
  const traffic = mixedTraffic(adapters);
  const loadBefore = loadavg();
  const offline = args.rounds > 0 ? await offlinePapersPerSecond(dir, args.backend, traffic, args.rounds) : NaN;
  // What mixing could reach at 8 connections at best: a server batch then holds at most 8 rows, and none is better
  // than a full batch of 8 of near-equal lengths (the traffic's 13 papers, each 4 times, sorted) with one adapter.
  const ceiling = args.rounds > 0 ? await offlinePapersPerSecond(dir, args.backend, traffic, args.rounds, adapters[0]) : NaN;
  process.stderr.write(`offline: ${offline.toFixed(2)} papers/s, one adapter: ${ceiling.toFixed(2)}\n`);
  // Each request draws its paper and adapter at random: autocannon walks a list of requests in lockstep on every
  // connection, so concurrent requests would all carry the same adapter and nothing would be left to mix.
  const bodies = traffic.map((t) => JSON.stringify({ papers: [t.paper], adapter: t.adapter }));
  const requests = [
    {
      method: "POST" as const,
      path: "/embed",
      headers: { "content-type": "application/json" },
      setupRequest: (request: autocannon.Request) => ({ ...request, body: bodies[Math.floor(Math.random() * bodies.length)] }),
    },
  ];
  const rows: string[] = [];
  const rates = new Map<string, number>();
  for (const connections of args.concurrency.split(",").map(Number)) {
    for (const mix of [true, false]) {
      const { child, url } = await startServer(dir, args.backend, args["max-batch-tokens"], mix, args.workers);
      try {
        const before = await serverMetrics(url);
        const r = await autocannon({ url, connections, duration: args.duration, requests, timeout: 600 });
        const after = await serverMetrics(url);
        const perSecond = r.requests.total / args.duration;
        rates.set(`${connections} ${mix}`, perSecond);
        const failed = r.non2xx + r.errors + r.timeouts;
        const batches = Math.max(1, after.batches - before.batches);
        const perBatch = (after.adapters - before.adapters) / batches;
        const rowsPerBatch = (after.rows - before.rows) / batches;
        rows.push(
          `| ${mix ? "on" : "off"} | ${connections} | ${r.requests.total} | ${perSecond.toFixed(2)} | ${r.latency.p50} | ${r.latency.p99} | ${Number.isNaN(offline) ? "–" : `${((100 * perSecond) / offline).toFixed(0)} %`} | ${perBatch.toFixed(2)} | ${rowsPerBatch.toFixed(2)} | ${after.overhead.toFixed(0)} | ${(100 * after.adapterCost).toFixed(1)} % | ${(after.peakRssBytes / 2 ** 20).toFixed(0)} | ${failed} |`,
        );
        process.stderr.write(`${rows[rows.length - 1]}\n`);
      } finally {
        child.kill("SIGTERM");
        await new Promise((resolve) => child.once("exit", resolve));
      }
    }
  }
  const model = args.full ? "full-size random SPECTER2 (768/12/12/3072)" : "the demo model weights/specter2-tiny (hidden 64, 2 layers)";
  const gain = args.concurrency
    .split(",")
    .map(Number)
    .map((c) => `${c} connections ${((rates.get(`${c} true`) ?? 0) / (rates.get(`${c} false`) ?? 1)).toFixed(2)}×`)
    .join(", ");
  process.stdout.write(
    [
      `Model: ${model}, ${args.backend} backend${args.workers === undefined ? "" : `, --workers ${args.workers}`}, --max-batch-tokens ${args["max-batch-tokens"]}; ${args.duration} s per point; CPU ${cpus()[0].model}, ${cpus().length} cores; load average before ${loadBefore.map((l) => l.toFixed(2)).join(" ")}, after ${loadavg()
        .map((l) => l.toFixed(2))
        .join(" ")}.`,
      `One paper of examples/papers.jsonl per request (POST /embed), paper and adapter drawn at random per request, evenly over ${adapters.join(", ")}. Offline library rate on the same traffic (embed, per-row adapters, batches of 8): ${Number.isNaN(offline) ? "not measured (--rounds 0)" : `**${offline.toFixed(2)} papers/s**`}.`,
      `Mixing on over off: ${gain}.`,
      `The same offline batches with one adapter (${adapters[0]}) for every row: ${Number.isNaN(ceiling) ? "not measured" : `**${ceiling.toFixed(2)} papers/s**`}${rates.has("8 false") && !Number.isNaN(ceiling) ? `, ${(ceiling / rates.get("8 false")!).toFixed(2)}× the grouped rate at 8 connections: the most any batch plan could gain there` : ""}.`,
      "",
      "| mixing | connections | requests | papers/s | p50 ms | p99 ms | of offline | adapters per batch | rows per batch | pass overhead learned (tokens) | each adapter beyond the first, learned | server peak RSS (MiB) | failed |",
      "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
      ...rows,
      "",
    ].join("\n"),
  );
}

main().catch((e: Error) => {
  process.stderr.write(`${e.stack}\n`);
  process.exit(1);
});
