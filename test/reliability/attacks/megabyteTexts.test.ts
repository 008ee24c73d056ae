// Megabyte texts against `specter2 serve` at its defaults (max length 512, a 2 MiB body limit, its default backend
// and workers): 64 clients × 2 requests of 1.9 MiB of CJK text while another process polls /health every 20 ms.
// Before, /health waited for seconds behind texts normalized whole on the event loop. test/serve/longText.test.ts
// checks the same in-process at max length 64.
import { withServe } from "../../helpers/builtCli";
import { healthUnderLoad, percentile } from "../../helpers/healthUnderLoad";

const CLIENTS = 64;
const REQUESTS_PER_CLIENT = 2;
/** 1.9 MiB of UTF-8 (3 bytes a character): under the default --max-body-bytes of 2 MiB. */
const TEXT_CHARS = Math.floor((1.9 * 2 ** 20) / 3);

test(`/health answers in milliseconds while ${CLIENTS} clients send 1.9 MiB texts`, async () => {
  await withServe([], async ({ url }) => {
    const { statuses, bodyBytes, seconds, health } = await healthUnderLoad(url, { clients: CLIENTS, requestsPerClient: REQUESTS_PER_CLIENT, chars: TEXT_CHARS, deadlineMs: 60_000 });
    const latencies = health.map(([, ms]) => ms);
    process.stdout.write(
      `${statuses.length} requests of ${(bodyBytes / 2 ** 20).toFixed(2)} MiB in ${seconds.toFixed(1)} s; /health (${health.length} probes) ` +
        `median ${percentile(latencies, 0.5).toFixed(1)} ms, p99 ${percentile(latencies, 0.99).toFixed(1)} ms (target: under 100 ms), max ${Math.max(...latencies).toFixed(1)} ms\n`,
    );
    expect(bodyBytes).toBeLessThan(2 * 2 ** 20);
    expect(statuses).toEqual(Array.from({ length: CLIENTS * REQUESTS_PER_CLIENT }, () => 200));
    // Enough probes to speak of a 99th percentile.
    expect(health.length).toBeGreaterThanOrEqual(20);
    expect(health.every(([status]) => status === 200)).toBe(true);
    // The target, p99 under 100 ms, holds on a quiet machine; with other work on the 2 cores p99 passes it now and
    // then, so the median is held to the target and p99 to 1 s. Texts normalized on the event loop (the old code)
    // gave a median of several hundred ms and a p99 of many seconds: either bound fails them.
    expect(percentile(latencies, 0.5)).toBeLessThan(100);
    expect(percentile(latencies, 0.99)).toBeLessThan(1000);
  });
});
