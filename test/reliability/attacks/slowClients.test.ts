// Slow clients that hold the API key, against `specter2 serve` at its defaults: 64 connections that promise a body
// of 100 bytes and send 10, and 100 that send one byte a second. They hold no concurrency slot (before, every other
// client got 429 for as long as they stayed): the others are answered as fast as without them, /health answers, and
// each attacker gets 408 once the default --body-timeout has passed, and is closed. test/serve/limits.test.ts checks
// the same in-process at short deadlines; this is the real process, its defaults and the key.
import { DEFAULT_CONNECTION_LIMITS } from "../../../src/serve/connections";
import { withServe } from "../../helpers/builtCli";
import type { RawConnection } from "../../helpers/serve";
import { connected, get, post, postHead, rawConnection } from "../../helpers/serve";

const KEY = "reliability-key";
const AUTH = { authorization: `Bearer ${KEY}` };
const BODY = JSON.stringify({ model: "proximity", input: "citation recommendation" });
const BODY_TIMEOUT_MS = DEFAULT_CONNECTION_LIMITS.bodyTimeoutMs;

/** `n` requests of one normal client, one after another: their statuses and latencies. */
async function normalClient(url: string, n: number): Promise<{ statuses: number[]; ms: number[] }> {
  const statuses: number[] = [];
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    statuses.push((await post(`${url}/v1/embeddings`, BODY, AUTH)).status);
    ms.push(performance.now() - t0);
  }
  return { statuses, ms };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

test(
  "164 stalled or trickling bodies hold no slot, and each gets 408 and is closed after --body-timeout",
  async () => {
    await withServe(["--api-key", KEY], async ({ url }) => {
      await normalClient(url, 3); // warm-up
      const unloaded = await normalClient(url, 10);
      const attackers: RawConnection[] = [];
      const tricklers: NodeJS.Timeout[] = [];
      try {
        for (let i = 0; i < 64; i++) attackers.push(rawConnection(url, postHead("/v1/embeddings", 100, AUTH) + BODY.slice(0, 10), BODY_TIMEOUT_MS + 10_000));
        for (let i = 0; i < 100; i++) {
          const c = rawConnection(url, postHead("/embed", 1000, AUTH), BODY_TIMEOUT_MS + 10_000);
          attackers.push(c);
          tricklers.push(setInterval(() => c.socket.writable && c.socket.write(" "), 1000));
        }
        await Promise.all(attackers.map(connected));
        await new Promise((r) => setTimeout(r, 1500)); // the heads are in, the tricklers have sent a byte or two

        const during = await normalClient(url, 10);
        const health = await get(`${url}/health`);
        const answers = await Promise.all(attackers.map((a) => a.response));
        const closedAfter = answers.map((a) => a.closedAfterMs);
        process.stdout.write(
          `others: median ${median(during.ms).toFixed(1)} ms, max ${Math.max(...during.ms).toFixed(1)} ms (unloaded: median ${median(unloaded.ms).toFixed(1)} ms); ` +
            `attackers closed after ${(Math.min(...closedAfter) / 1000).toFixed(1)}–${(Math.max(...closedAfter) / 1000).toFixed(1)} s (--body-timeout ${BODY_TIMEOUT_MS / 1000} s)\n`,
        );
        expect(during.statuses).toEqual(Array.from({ length: 10 }, () => 200));
        // Unloaded, a request takes milliseconds: 2 s leaves room for a 2-core machine busy with other work, and
        // still fails a server that makes the others wait behind the attackers' bodies.
        expect(Math.max(...during.ms)).toBeLessThan(2000);
        expect(health.status).toBe(200);
        expect(answers.map((a) => [a.status, a.closed])).toEqual(answers.map(() => [408, true]));
        // Cut when the deadline passed, not before (the deadline counts from the head, sent just after connecting).
        expect(Math.min(...closedAfter)).toBeGreaterThanOrEqual(BODY_TIMEOUT_MS - 100);
      } finally {
        tricklers.forEach(clearInterval);
        attackers.forEach((a) => a.socket.destroy());
      }
    });
  },
  BODY_TIMEOUT_MS + 60_000,
);
