// Every parser that reads files or lines from outside, fuzzed with a fixed seed and a small budget: each case ends
// in a result or an error naming its source, in bounded time and memory. `FUZZ_SEED=<n>` reproduces another
// seed's run; test/reliability/fuzz.test.ts runs the same properties for minutes.
import fc from "fast-check";
import { CI_SEED } from "../helpers/fuzz";
import { FUZZ_TARGETS } from "../helpers/fuzzTargets";

const seed = Number(process.env.FUZZ_SEED ?? CI_SEED);

describe("fuzzed parsers", () => {
  test.each(FUZZ_TARGETS.map((t) => [t.name, t] as const))("%s", async (_, target) => {
    await fc.assert(target.property(), { seed, numRuns: target.ciRuns });
  });
});
