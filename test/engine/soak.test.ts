// A shortened soak on the demo model: 10 000 embeddings with an adapter switch every 4 batches. tf.memory() must
// not move at all, RSS must stay flat, and the probe papers' vectors at the end must equal those at the start.
// The long run is test/reliability/soak.test.ts (docs/reliability.md).
import { expectLeakFree, soakInOwnProcess } from "../helpers/soak";

test("10 000 embeddings with adapter switches leak nothing and change nothing", () => {
  expectLeakFree(soakInOwnProcess({ embeddings: 10000, callSize: 128, batchSize: 32, maxLength: 24, sampleEvery: 6 }, 240_000));
});
