// The thread that parses large request bodies, when it fails: a thread that dies on one body costs that body's
// request alone (400 naming the failure), the bodies waiting behind it are parsed by the next thread; a thread that
// cannot start at all leaves every body to the main thread. The thread is replaced here by one that dies on demand.
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { Specter2 } from "../../src/node/specter2";
import type * as SpawnWorker from "../../src/node/specter2";
import type { Running } from "../helpers/serve";
import { post, startService } from "../helpers/serve";

const MODEL = join(__dirname, "..", "..", "weights", "specter2-tiny");

/** Parses as the real thread does, but exits on a body holding "die"; with `never`, exits before it is ready. */
const FRAGILE_THREAD = (never: boolean) => `
const { parentPort } = require("node:worker_threads");
if (${never}) process.exit(1);
parentPort.on("message", (body) => {
  const text = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString("utf8");
  if (text.includes("die")) process.exit(1);
  parentPort.postMessage({ value: JSON.parse(text) });
});
parentPort.postMessage("ready");
`;

let threadMode: "dies on a body" | "never starts" = "dies on a body";
let threadsStarted = 0;
jest.mock("../../src/node/specter2", () => {
  const actual = jest.requireActual<typeof SpawnWorker>("../../src/node/specter2");
  return {
    ...actual,
    spawnWorker: (script: string, workerData?: unknown) => {
      if (!script.includes("jsonParseThread")) return actual.spawnWorker(script, workerData);
      threadsStarted++;
      return new Worker(FRAGILE_THREAD(threadMode === "never starts"), { eval: true });
    },
  };
});

let model: Specter2;
beforeAll(async () => {
  model = await Specter2.load(MODEL, { workers: 0, backend: "wasm" });
});
afterAll(async () => {
  await model?.close();
});

/** A 100 KB body (over the 64 KiB that go to the thread) of 4 inputs; `word` is in each. */
const largeBody = (word: string) => ({ inputs: Array.from({ length: 4 }, (_, i) => `${word} ${i} ${"x".repeat(25_000)}`) });

async function withServer(body: (server: Running) => Promise<void>): Promise<void> {
  const server = await startService(model, { maxBodyBytes: 1024 * 1024 });
  try {
    await body(server);
  } finally {
    await server.service.close();
  }
}

it("a thread that dies on a body fails that request alone (400); the bodies behind it are parsed by a new thread", async () => {
  threadMode = "dies on a body";
  threadsStarted = 0;
  await withServer(async ({ url }) => {
    const sent = ["alive", "alive", "die", "alive", "alive", "die", "alive"].map((word) => post(`${url}/embed`, largeBody(word)));
    const answers = await Promise.all(sent);
    expect(answers.map((r) => r.status)).toEqual([200, 200, 400, 200, 200, 400, 200]);
    for (const r of answers.filter((a) => a.status === 400)) {
      expect(r.body).toMatchObject({ error: "the JSON body could not be parsed: the thread parsing it stopped", code: "invalid_request" });
    }
    expect(answers[0].body).toHaveLength(4);
    // Each death was followed by a new thread for the next body: one for the first, one after each "die".
    expect((await post(`${url}/embed`, largeBody("after"))).status).toBe(200);
    expect(threadsStarted).toBe(3);
  });
});

it("a thread that cannot start leaves every body to the main thread", async () => {
  threadMode = "never starts";
  threadsStarted = 0;
  await withServer(async ({ url }) => {
    const answers = await Promise.all(["one", "die", "three"].map((word) => post(`${url}/embed`, largeBody(word))));
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(threadsStarted).toBe(1);
  });
});
