// The HTTP API on the demo model, served on 127.0.0.1: vectors equal the library's, the official
// openai client works unchanged, every bad request gets its status and a JSON error, auth, 429, timeout.
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import OpenAI from "openai";
import { createService } from "../../src/serve/server";
import { Specter2 } from "../../src/node/specter2";
import type { Running } from "../helpers/serve";
import { get, post, startService, TEST_OPTIONS } from "../helpers/serve";
import { EXAMPLE_PAPERS } from "../helpers/examplePapers";

const MODEL = join(__dirname, "..", "..", "weights", "specter2-tiny");
const papers = EXAMPLE_PAPERS;
const queries = ["citation recommendation", "protein folding with transformers", "graph neural networks for molecules"];
const ADAPTERS = ["proximity", "adhoc_query", "classification", "regression"];

let model: Specter2;
let server: Running;

beforeAll(async () => {
  model = await Specter2.load(MODEL, { workers: 0, backend: "wasm" });
  // Padding free, so a request's rows share one batch as in the library's embed and the vectors match bit for bit.
  server = await startService(model, { passOverheadTokens: Infinity });
});
afterAll(async () => {
  await server?.service.close();
  await model?.close();
});

/** The library's vectors for the same inputs in one batch, as the idle server batches one request. */
const library = (inputs: Parameters<Specter2["embed"]>[0], adapter: string | null) => model.embed(inputs, { adapter, batchSize: inputs.length });

describe("vectors equal the library's embed on the same backend", () => {
  it("POST /v1/embeddings, float and base64, for every adapter and the base", async () => {
    for (const name of [...ADAPTERS, "base"]) {
      const expected = await library(queries, name === "base" ? null : name);
      const r = await post(`${server.url}/v1/embeddings`, { model: name, input: queries });
      expect(r.status).toBe(200);
      expect(r.body.object).toBe("list");
      expect(r.body.model).toBe(name);
      expect(r.body.data.map((d: { index: number }) => d.index)).toEqual([0, 1, 2]);
      r.body.data.forEach((d: { embedding: number[] }, i: number) => expect(Float32Array.from(d.embedding)).toEqual(expected[i]));
      const tokens = queries.reduce((n, q) => n + model.tokenizer.encode(q).ids.length, 0);
      expect(r.body.usage).toEqual({ prompt_tokens: tokens, total_tokens: tokens });

      const b64 = await post(`${server.url}/v1/embeddings`, { model: name, input: queries, encoding_format: "base64" });
      b64.body.data.forEach((d: { embedding: string }, i: number) => {
        const bytes = Buffer.from(d.embedding, "base64");
        expect(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4)).toEqual(expected[i]);
      });
    }
  });

  it("POST /embed with texts, and with papers formatted as title [SEP] abstract", async () => {
    const texts = await post(`${server.url}/embed`, { inputs: queries, adapter: "adhoc_query" });
    expect(texts.status).toBe(200);
    const expectedQueries = await library(queries, "adhoc_query");
    texts.body.forEach((v: number[], i: number) => expect(Float32Array.from(v)).toEqual(expectedQueries[i]));

    const single = await post(`${server.url}/embed`, { inputs: queries[0], adapter: "adhoc_query" });
    expect(single.body).toHaveLength(1);
    expect(Float32Array.from(single.body[0])).toEqual(expectedQueries[0]);

    // Records go in as stored (paper_id and all); no adapter means the first one, proximity.
    const r = await post(`${server.url}/embed`, { papers });
    expect(r.status).toBe(200);
    const expected = await library(papers, "proximity");
    expect(r.body).toHaveLength(papers.length);
    r.body.forEach((v: number[], i: number) => expect(Float32Array.from(v)).toEqual(expected[i]));
  });

  it("normalize: true gives the unit vectors of the same embeddings", async () => {
    const r = await post(`${server.url}/embed`, { inputs: queries, adapter: "proximity", normalize: true });
    const expected = await library(queries, "proximity");
    r.body.forEach((v: number[], i: number) => {
      const norm = Math.hypot(...expected[i]);
      // float32 division: each value within one rounding of the exact quotient.
      v.forEach((x, k) => expect(x).toBeCloseTo(expected[i][k] / norm, 6));
      expect(Math.hypot(...v)).toBeCloseTo(1, 5);
    });
  });

  it("text over the max length is truncated like the library's, or refused with truncate: false", async () => {
    const long = "adapters transformers citation ".repeat(400);
    const r = await post(`${server.url}/embed`, { inputs: [long], adapter: "proximity" });
    expect(r.status).toBe(200);
    expect(Float32Array.from(r.body[0])).toEqual((await library([long], "proximity"))[0]);
    const refused = await post(`${server.url}/embed`, { inputs: ["short", long], adapter: "proximity", truncate: false });
    expect(refused.status).toBe(413);
    expect(refused.body.error).toMatch(/input 1 is longer than 512 tokens/);
  });
});

describe("the official openai client", () => {
  it("embeds and lists models unchanged (its default base64 encoding included)", async () => {
    const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "unused", maxRetries: 0 });
    const res = await client.embeddings.create({ model: "adhoc_query", input: queries });
    const expected = await library(queries, "adhoc_query");
    expect(res.data.map((d) => d.index)).toEqual([0, 1, 2]);
    res.data.forEach((d, i) => expect(Float32Array.from(d.embedding)).toEqual(expected[i]));
    const models = [];
    for await (const m of client.models.list()) models.push(m.id);
    expect(models).toEqual(["base", ...ADAPTERS]);
    await expect(client.embeddings.create({ model: "specter3", input: "x" })).rejects.toMatchObject({ status: 404 });
  });
});

describe("bad requests: status and a JSON error in the route's shape", () => {
  const big = Array.from({ length: 33 }, (_, i) => `text ${i}`);
  const cases: [string, string, unknown, number, RegExp][] = [
    ["malformed JSON", "/v1/embeddings", '{"model": "proximity", "input": [', 400, /not valid JSON/],
    ["input of a wrong type", "/v1/embeddings", { model: "proximity", input: 5 }, 400, /input must be string/],
    ["model of a wrong type", "/v1/embeddings", { model: 3, input: "x" }, 400, /model must be string/],
    ["empty input string", "/v1/embeddings", { model: "proximity", input: "" }, 400, /input/],
    ["empty input list", "/v1/embeddings", { model: "proximity", input: [] }, 400, /input/],
    ["an unknown field", "/v1/embeddings", { model: "proximity", input: "x", dimensions: 8 }, 400, /additional properties: "dimensions"/],
    ["unknown encoding", "/v1/embeddings", { model: "proximity", input: "x", encoding_format: "int8" }, 400, /encoding_format/],
    ["unknown adapter", "/v1/embeddings", { model: "specter3", input: "x" }, 404, /base, proximity, adhoc_query, classification, regression/],
    ["too many inputs", "/v1/embeddings", { model: "proximity", input: big }, 413, /33 inputs .* limit is 32/],
    ["truncate of a wrong type", "/embed", { inputs: "x", truncate: "yes" }, 400, /truncate must be boolean/],
    ["a paper with a numeric title", "/embed", { papers: [{ title: 1 }] }, 400, /title must be string/],
    ["a paper with neither title nor abstract", "/embed", { papers: [{ paper_id: "p" }] }, 400, /required property/],
    ["both inputs and papers", "/embed", { inputs: "x", papers: [{ title: "t" }] }, 400, /either `inputs`/],
    ["neither inputs nor papers", "/embed", { adapter: "proximity" }, 400, /either `inputs`/],
    ["empty inputs", "/embed", { inputs: [] }, 400, /inputs/],
    ["unknown adapter", "/embed", { inputs: "x", adapter: "specter3" }, 404, /unknown model\/adapter "specter3"/],
    ["too many papers", "/embed", { papers: big.map((title) => ({ title })) }, 413, /33 inputs/],
    ["a JSON array body", "/embed", "[1, 2]", 400, /body must be object/],
    ["a JSON null body", "/embed", "null", 400, /body must be object/],
  ];

  it.each(cases)("%s on %s", async (_name, route, body, status, message) => {
    const r = await post(`${server.url}${route}`, body);
    expect(r.status).toBe(status);
    const text = route.startsWith("/v1/") ? r.body.error.message : r.body.error;
    expect(text).toMatch(message);
    if (route.startsWith("/v1/")) expect(r.body.error.type).toBe(status === 404 ? "not_found_error" : "invalid_request_error");
    else expect(typeof r.body.error_type).toBe("string");
  });

  it("a body over the size limit is 413, a non-JSON content type 415, an unknown route 404", async () => {
    const small = await startService(model, { maxBodyBytes: 1024 });
    try {
      const r = await post(`${small.url}/embed`, { inputs: "x".repeat(2000) });
      expect(r.status).toBe(413);
      expect(r.body.error).toMatch(/over 1024 bytes/);
    } finally {
      await small.service.close();
    }
    const res = await fetch(`${server.url}/v1/embeddings`, { method: "POST", headers: { "content-type": "application/xml" }, body: "<input/>" });
    expect(res.status).toBe(415);
    expect(((await res.json()) as { error: { type: string } }).error.type).toBe("invalid_request_error");
    const missing = await get(`${server.url}/v2/embeddings`);
    expect([missing.status, missing.body.error]).toEqual([404, "no route GET /v2/embeddings"]);
  });

  it("no bad request leaves a tensor behind", async () => {
    const before = tf.memory().numTensors;
    for (const [, route, body] of cases) await post(`${server.url}${route}`, body);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe("operations", () => {
  it("/health, /info and /metrics", async () => {
    expect(await get(`${server.url}/health`)).toMatchObject({ status: 200, body: { status: "ok" } });
    const info = await get(`${server.url}/info`);
    expect(info.body).toMatchObject({
      adapters: ADAPTERS,
      hidden_size: 64,
      backend: { name: "wasm" },
      workers: 0,
      limits: { max_length: 512, max_batch_tokens: 4096, max_client_batch_size: 32 },
      version: expect.stringMatching(/^specter2-tfjs \d+\.\d+\.\d+/),
    });
    await post(`${server.url}/v1/embeddings`, { model: "regression", input: "x" });
    const metrics = (await get(`${server.url}/metrics`)).body as string;
    expect(metrics).toMatch(/specter2_requests_total\{route="\/v1\/embeddings",adapter="regression",status="200"\} [1-9]/);
    expect(metrics).toMatch(/specter2_request_duration_seconds_bucket\{le="0.005",route="\/v1\/embeddings",adapter="regression",status="200"\}/);
    expect(metrics).toMatch(/specter2_embedded_tokens_total\{adapter="regression"\} [1-9]/);
    for (const name of ["specter2_batch_size_count", "specter2_batch_padded_tokens_count", "specter2_queue_depth 0", "specter2_requests_in_flight 0", "specter2_tokens_per_second"]) {
      expect(metrics).toContain(name);
    }
  });

  it("/health is 503 until warmed up", async () => {
    const cold = createService(model, TEST_OPTIONS);
    const url = await cold.app.listen({ host: "127.0.0.1", port: 0 });
    try {
      expect(await get(`${url}/health`)).toMatchObject({ status: 503, body: { status: "loading" } });
      await cold.warmUp();
      expect((await get(`${url}/health`)).status).toBe(200);
    } finally {
      await cold.close();
    }
  });

  it("with an API key: 401 without the right bearer token, /health open, the openai client passes", async () => {
    const secured = await startService(model, { apiKey: "s3cret" });
    try {
      const none = await post(`${secured.url}/v1/embeddings`, { model: "proximity", input: "x" });
      expect([none.status, none.body.error.type, none.headers.get("www-authenticate")]).toEqual([401, "authentication_error", "Bearer"]);
      expect((await post(`${secured.url}/embed`, { inputs: "x" }, { authorization: "Bearer s3cre" })).status).toBe(401);
      expect((await get(`${secured.url}/metrics`, { authorization: "s3cret" })).status).toBe(401);
      expect((await get(`${secured.url}/health`)).status).toBe(200);
      expect((await post(`${secured.url}/embed`, { inputs: "x" }, { authorization: "Bearer s3cret" })).status).toBe(200);
      const client = new OpenAI({ baseURL: `${secured.url}/v1`, apiKey: "s3cret", maxRetries: 0 });
      expect((await client.embeddings.create({ model: "proximity", input: "x" })).data).toHaveLength(1);
    } finally {
      await secured.service.close();
    }
  });
});

describe("backpressure", () => {
  /** Holds every forward pass until released, so requests stay in flight as long as a test needs. */
  function gateModel() {
    const original = model.embedBatch.bind(model);
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    let entered!: () => void;
    const running = new Promise<void>((r) => (entered = r));
    const spy = jest.spyOn(model, "embedBatch").mockImplementation(async (...args) => {
      entered();
      await gate;
      return original(...args);
    });
    return { running, release: () => (open(), spy) };
  }

  it("over --max-concurrent-requests: 429 with Retry-After while the first request is answered", async () => {
    const limited = await startService(model, { maxConcurrentRequests: 1 });
    const gate = gateModel();
    try {
      const first = post(`${limited.url}/v1/embeddings`, { model: "proximity", input: "first" });
      await gate.running;
      const second = await post(`${limited.url}/v1/embeddings`, { model: "proximity", input: "second" });
      expect([second.status, second.headers.get("retry-after"), second.body.error.type]).toEqual([429, "1", "rate_limit_error"]);
      const tei = await post(`${limited.url}/embed`, { inputs: "second" });
      expect([tei.status, tei.body.error_type]).toEqual([429, "Overloaded"]);
      gate.release().mockRestore();
      expect((await first).status).toBe(200);
      expect((await post(`${limited.url}/embed`, { inputs: "third" })).status).toBe(200);
    } finally {
      jest.restoreAllMocks();
      await limited.service.close();
    }
  });

  it("a request not answered within the timeout gets 503 and its inputs leave the queue", async () => {
    const slow = await startService(model, { requestTimeoutMs: 300 });
    const gate = gateModel();
    try {
      const blocked = post(`${slow.url}/embed`, { inputs: "first" });
      await gate.running;
      const waiting = await post(`${slow.url}/embed`, { inputs: ["a", "b"] });
      expect([waiting.status, waiting.body.code, waiting.headers.get("retry-after")]).toEqual([503, "timeout", "1"]);
      // Its two inputs left the queue although the forward pass is still held.
      expect((await get(`${slow.url}/metrics`)).body).toMatch(/^specter2_queue_depth 0$/m);
      gate.release().mockRestore();
      expect((await blocked).status).toBe(503);
    } finally {
      jest.restoreAllMocks();
      await slow.service.close();
    }
  });
});
