// The long fuzz run: every target of test/helpers/fuzzTargets.ts for FUZZ_SECONDS (default 20) each, on a fresh seed
// (FUZZ_SEED=<n> reruns one), counting the cases that ended in a result and in a refusal. test/fuzz/parsers.test.ts
// runs the same properties on a fixed seed and a few hundred cases each. A failure names the seed and fast-check's
// path to the case; the same seed replays the same cases.
import fc from "fast-check";
import { outcomeObservers } from "../helpers/fuzz";
import { FUZZ_TARGETS } from "../helpers/fuzzTargets";

const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
const seconds = Number(process.env.FUZZ_SECONDS ?? 20);

let results = 0;
let refusals = 0;
outcomeObservers.push((o) => (o.ok ? results++ : refusals++));

beforeAll(() => process.stdout.write(`fuzz: seed ${seed} (FUZZ_SEED), ${seconds} s per target (FUZZ_SECONDS)\n`));

test.each(FUZZ_TARGETS.map((t) => [t.name, t] as const))(
  "%s",
  async (name, target) => {
    [results, refusals] = [0, 0];
    const t0 = performance.now();
    const details = await fc.check(target.property(), { seed, numRuns: Number.MAX_SAFE_INTEGER, interruptAfterTimeLimit: seconds * 1000 });
    const peakMiB = process.resourceUsage().maxRSS / 1024;
    process.stdout.write(
      `${name}: ${details.numRuns} cases (${results} results, ${refusals} refusals) in ${((performance.now() - t0) / 1000).toFixed(1)} s, peak RSS ${peakMiB.toFixed(0)} MiB\n`,
    );
    const failure = details.failed ? `seed ${details.seed}, path "${details.counterexamplePath}": ${String(details.errorInstance).slice(0, 2000)}` : null;
    expect(failure).toBeNull();
    // The budget ran cases (a property that threw before its first would have failed above).
    expect(details.numRuns).toBeGreaterThan(0);
  },
  // Shrinking a failure takes its own time beyond the budget.
  seconds * 1000 + 120_000,
);
