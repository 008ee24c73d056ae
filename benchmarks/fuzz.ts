// The long fuzz run: every target of test/helpers/fuzzTargets.ts for a time budget each, with a fresh seed.
// Prints cases tried, results vs refusals, time and peak RSS per target; a failure prints the seed and the
// fast-check path that reproduce it (FUZZ_SEED=<seed> npx jest test/fuzz/parsers.test.ts reruns the suite with it).
//   npx ts-node --transpile-only benchmarks/fuzz.ts [--seconds-per-target 30] [--seed N]
import fc from "fast-check";
import { outcomeObservers } from "../test/helpers/fuzz";
import { FUZZ_TARGETS } from "../test/helpers/fuzzTargets";

function argument(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 && process.argv[at + 1] !== undefined ? process.argv[at + 1] : fallback;
}

async function main(): Promise<void> {
  const seconds = Number(argument("seconds-per-target", "30"));
  const seed = Number(argument("seed", String(Date.now() % 2 ** 31)));
  let results = 0;
  let refusals = 0;
  outcomeObservers.push((o) => (o.ok ? results++ : refusals++));
  let peakRss = process.memoryUsage().rss;
  const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 200);
  process.stdout.write(`fuzz: seed ${seed}, ${seconds} s per target\ntarget\tcases\tresults\trefusals\tseconds\tpeak RSS MB\n`);
  let failures = 0;
  let total = 0;
  const started = performance.now();
  for (const target of FUZZ_TARGETS) {
    [results, refusals] = [0, 0];
    const t0 = performance.now();
    const details = await fc.check(target.property(), { seed, numRuns: Number.MAX_SAFE_INTEGER, interruptAfterTimeLimit: seconds * 1000 });
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    total += details.numRuns;
    process.stdout.write(`${target.name}\t${details.numRuns}\t${results}\t${refusals}\t${((performance.now() - t0) / 1000).toFixed(1)}\t${(peakRss / 2 ** 20).toFixed(0)}\n`);
    if (details.failed) {
      failures++;
      process.stdout.write(`  FAILED (seed ${details.seed}, path "${details.counterexamplePath}"): ${String(details.errorInstance).slice(0, 2000)}\n`);
    }
  }
  clearInterval(rssTimer);
  process.stdout.write(`total: ${total} cases in ${((performance.now() - started) / 1000).toFixed(0)} s, peak RSS ${(peakRss / 2 ** 20).toFixed(0)} MB, failures: ${failures}\n`);
  if (failures > 0) process.exitCode = 1;
}

main().catch((e: Error) => {
  process.stderr.write(`fuzz: ${e.stack}\n`);
  process.exit(1);
});
