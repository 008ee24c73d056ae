// Attention a few rows of the batch at a time (BertSelfAttention, src/model/bert.ts) against the whole batch at once: papers/s
// and peak RSS on the full-size model, native fp32, the two interleaved in one process.
//   npx ts-node --transpile-only benchmarks/attentionChunks.ts [--repeats 3]
import { loadavg } from "node:os";
import { BertSelfAttention } from "../src/model/bert";
import { Specter2 } from "../src/node/specter2";
import { ADAPTER } from "./engines";
import { ensureFullModel } from "./fullModel";

const out = (line: string) => process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
  const i = process.argv.indexOf("--repeats");
  const repeats = i > 0 ? Number(process.argv[i + 1]) : 3;
  const { model } = await ensureFullModel((l) => process.stderr.write(`${l}\n`));
  const engine = await Specter2.load(model, { workers: 0, backend: "native", adapters: [ADAPTER] });
  const budgets = { chunked: BertSelfAttention.scoreChunkValues, whole: Infinity };
  out(
    `load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}; best of ${repeats}, interleaved`,
  );
  out("| batch | chunked ms | whole batch ms | chunked / whole |");
  out("| --- | --- | --- | --- |");
  for (const [rows, length] of [
    [8, 256],
    [8, 512],
    [32, 128],
    [32, 512],
  ]) {
    const row = Array.from({ length }, (_, j) => (j === 0 ? 2 : j === length - 1 ? 3 : 100 + (j % 1000)));
    const batch = Array.from({ length: rows }, () => row);
    const best: Record<string, number> = { chunked: Infinity, whole: Infinity };
    for (let r = 0; r <= repeats; r++)
      for (const [name, budget] of Object.entries(budgets)) {
        BertSelfAttention.scoreChunkValues = budget;
        const start = performance.now();
        await engine.embedBatch(batch, ADAPTER);
        if (r > 0) best[name] = Math.min(best[name], performance.now() - start); // the first round warms up
      }
    out(`| ${rows} × ${length} | ${best.chunked.toFixed(0)} | ${best.whole.toFixed(0)} | ${(best.chunked / best.whole).toFixed(3)} |`);
  }
  BertSelfAttention.scoreChunkValues = budgets.chunked;
  await engine.close();
}

main().catch((e: Error) => {
  process.stderr.write(`${e.stack ?? e.message}\n`);
  process.exit(1);
});
