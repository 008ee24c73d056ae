// The long soak: SOAK_EMBEDDINGS (default 50 000) embeddings through the demo model, the adapter switching every 4
// batches, with the checks of test/engine/soak.test.ts's 10 000: tf.memory() never moves, RSS stays flat, the probe
// papers' vectors at the end equal those at the start. benchmarks/soak.ts measures the same on any model and backend.
import { expectLeakFree, soakInOwnProcess } from "../helpers/soak";

const EMBEDDINGS = Number(process.env.SOAK_EMBEDDINGS ?? 50_000);
const CALL_SIZE = 64;
/** About ten times what the run takes on a quiet machine: room for a busy one. */
const TIMEOUT_MS = 120_000 + EMBEDDINGS * 10;

test(
  `${EMBEDDINGS} embeddings with adapter switches leak nothing and change nothing`,
  () => {
    // About 25 samples, whatever the length.
    const sampleEvery = Math.max(1, Math.round(EMBEDDINGS / CALL_SIZE / 25));
    expectLeakFree(soakInOwnProcess({ embeddings: EMBEDDINGS, callSize: CALL_SIZE, batchSize: 16, maxLength: 128, sampleEvery }, TIMEOUT_MS));
  },
  TIMEOUT_MS + 10_000,
);
