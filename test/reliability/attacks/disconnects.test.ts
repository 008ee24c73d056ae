// Clients that disconnect mid-request, against `specter2 serve` at its defaults: 1200 requests of 32 long inputs, each
// client gone 10–300 ms after sending, 60 at a time (under the default --max-concurrent-requests of 64, so that
// none is refused with 429). Every exchange must be counted once in /metrics (before, there was no 499 series at all),
// as 499 and aborted, or as 200 where the answer beat the disconnect; nothing stays in flight or queued, and the
// server answers the next request. test/serve/limits.test.ts checks a few gated aborts in-process.
import { connect } from "node:net";
import { withServe } from "../../helpers/builtCli";
import { get, metric, post, postHead } from "../../helpers/serve";

const TOTAL = 1200;
const WAVE = 60;

/** One POST /v1/embeddings of `body`, the socket destroyed `afterMs` after it is written: "cut" if no byte of an
 *  answer had come by then. */
function disconnectMidRequest(url: string, body: string, afterMs: number): Promise<"cut" | "answered"> {
  const { hostname, port } = new URL(url);
  const request = postHead("/v1/embeddings", Buffer.byteLength(body)) + body;
  return new Promise((resolve) => {
    let answered = false;
    const socket = connect(Number(port), hostname, () => {
      socket.write(request, () => setTimeout(() => (socket.destroy(), resolve(answered ? "answered" : "cut")), afterMs));
    });
    socket.on("data", () => (answered = true));
    socket.on("error", () => resolve(answered ? "answered" : "cut"));
  });
}

/** Until `ready()` holds, for at most `ms`. */
async function until(ready: () => Promise<boolean>, ms: number): Promise<void> {
  for (const end = performance.now() + ms; performance.now() < end && !(await ready());) await new Promise((r) => setTimeout(r, 20));
}

test(`${TOTAL} requests whose client disconnects mid-flight are each counted once, and leave nothing behind`, async () => {
  // 32 inputs of ~512 tokens: a request takes several forward passes, so that most are cut while they run.
  const long = "citation graphs and adapters for scientific document representation ".repeat(60);
  const body = JSON.stringify({ model: "proximity", input: Array.from({ length: 32 }, (_, i) => `${i} ${long}`) });
  await withServe([], async ({ url }) => {
    let cut = 0;
    for (let sent = 0; sent < TOTAL; sent += WAVE) {
      const outcomes = await Promise.all(Array.from({ length: Math.min(WAVE, TOTAL - sent) }, (_, i) => disconnectMidRequest(url, body, 10 + (i % 30) * 10)));
      cut += outcomes.filter((o) => o === "cut").length;
      await until(async () => (await metric(url, "specter2_requests_in_flight ")) === 0, 10_000);
    }
    await until(async () => (await metric(url, 'specter2_requests_total{route="/v1/embeddings"')) >= TOTAL, 5000);
    const text = (await get(`${url}/metrics`)).body as string;
    /** The sum of the series `name`{route="/v1/embeddings",…} over the lines holding every one of `labels`. */
    const sum = (name: string, ...labels: string[]) =>
      text
        .split("\n")
        .filter((l) => l.startsWith(`${name}{route="/v1/embeddings"`) && labels.every((x) => l.includes(x)))
        .reduce((n, l) => n + Number(l.split(" ").pop()), 0);
    const aborted = sum("specter2_requests_aborted_total");
    const queued = sum("specter2_requests_aborted_total", 'adapter="proximity"'); // cut after reaching the embedding queue
    const status499 = sum("specter2_requests_total", 'status="499"');
    const answered = sum("specter2_requests_total", 'status="200"');
    const counted = sum("specter2_requests_total");
    process.stdout.write(
      `aborted ${aborted} (${queued} after reaching the embedding queue), status 499 ${status499}, 200 ${answered}, counted ${counted} of ${TOTAL}; ${cut} had no byte of an answer when cut\n`,
    );
    expect(aborted).toBeGreaterThan(0);
    expect(status499).toBe(aborted);
    expect(counted).toBe(TOTAL);
    expect(aborted + answered).toBe(TOTAL);
    expect(await metric(url, "specter2_requests_in_flight ")).toBe(0);
    expect(await metric(url, "specter2_queue_depth ")).toBe(0);
    expect((await post(`${url}/v1/embeddings`, { model: "proximity", input: "citation recommendation" })).status).toBe(200);
  });
});
