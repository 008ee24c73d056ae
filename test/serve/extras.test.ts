// What a client of an embedding server expects besides embeddings: /tokenize (the library's tokenizer), CORS only
// when asked for (and a preflight answered before auth), an /openapi.json that lists every route with the bodies
// the server validates, and `normalize` on /v1/embeddings.
import { join } from "node:path";
import { Specter2 } from "../../src/node/specter2";
import type { Running } from "../helpers/serve";
import { get, post, startService } from "../helpers/serve";

const MODEL = join(__dirname, "..", "..", "weights", "specter2-tiny");
const ROUTES = ["/v1/embeddings", "/v1/models", "/v1/models/:id", "/embed", "/rank", "/tokenize", "/health", "/info", "/metrics", "/openapi.json"];

let model: Specter2;
let server: Running;
beforeAll(async () => {
  model = await Specter2.load(MODEL, { workers: 0, backend: "wasm" });
  server = await startService(model);
});
afterAll(async () => {
  await server?.service.close();
  await model?.close();
});

it("POST /tokenize gives the tokenizer's ids and tokens, with and without the special tokens", async () => {
  const texts = ["Citation graphs [SEP] and embeddings", "protein folding"];
  const r = await post(`${server.url}/tokenize`, { inputs: texts });
  expect(r.status).toBe(200);
  expect(r.body).toEqual(texts.map((t) => model.tokenizer.encode(t, { maxLength: 512 })).map(({ ids, tokens }) => ({ ids, tokens })));
  expect(r.body[0].tokens[0]).toBe("[CLS]");
  const bare = await post(`${server.url}/tokenize`, { inputs: texts[1], add_special_tokens: false });
  const full = model.tokenizer.encode(texts[1], { maxLength: 512 });
  expect(bare.body).toEqual([{ ids: full.ids.slice(1, -1), tokens: full.tokens.slice(1, -1) }]);
});

it("normalize on /v1/embeddings gives the library's vectors as unit vectors", async () => {
  const [v] = await model.embed(["citation recommendation"], { adapter: "proximity" });
  const r = await post(`${server.url}/v1/embeddings`, { model: "proximity", input: "citation recommendation", normalize: true });
  expect(r.status).toBe(200);
  const norm = Math.hypot(...v);
  const got = r.body.data[0].embedding as number[];
  got.forEach((x, k) => expect(Math.abs(x - v[k] / norm)).toBeLessThan(1e-6)); // float32 rounding of one division
  expect(Math.abs(Math.hypot(...got) - 1)).toBeLessThan(1e-5);
});

it("sends no CORS headers unless --cors-allow-origin is given", async () => {
  const r = await fetch(`${server.url}/health`, { headers: { origin: "https://example.org" } });
  expect(r.headers.get("access-control-allow-origin")).toBeNull();
});

it("with --cors-allow-origin, answers a preflight before auth and marks every answer for that origin", async () => {
  const cors = await startService(model, { corsAllowOrigin: "https://app.example.org", apiKey: "k" });
  try {
    const preflight = await fetch(`${cors.url}/v1/embeddings`, { method: "OPTIONS", headers: { origin: "https://app.example.org", "access-control-request-method": "POST" } });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBe("https://app.example.org");
    expect(preflight.headers.get("access-control-allow-headers")).toMatch(/authorization/);
    const r = await post(`${cors.url}/v1/embeddings`, { model: "proximity", input: "x" }, { authorization: "Bearer k", origin: "https://app.example.org" });
    expect(r.status).toBe(200);
    expect(r.headers.get("access-control-allow-origin")).toBe("https://app.example.org");
    expect(r.headers.get("vary")).toMatch(/origin/i);
  } finally {
    await cors.service.close();
  }
});

it("/openapi.json is an OpenAPI 3.1 document of exactly the server's routes, with the bodies it validates", async () => {
  const r = await get(`${server.url}/openapi.json`);
  expect(r.status).toBe(200);
  const doc = r.body as {
    openapi: string;
    info: { version: string };
    paths: Record<string, Record<string, { operationId: string; requestBody?: { content: Record<string, { schema: { type: string } }> } }>>;
  };
  expect(doc.openapi).toBe("3.1.0");
  expect(Object.keys(doc.paths).sort()).toEqual([...ROUTES].sort());
  const operations = Object.values(doc.paths).flatMap((p) => Object.entries(p));
  const ids = operations.map(([, op]) => op.operationId);
  expect(new Set(ids).size).toBe(ids.length);
  for (const [method, op] of operations) {
    if (method === "post") expect(op.requestBody?.content["application/json"].schema.type).toBe("object");
    else expect(op.requestBody).toBeUndefined();
  }
  // Every route the document names answers (not 404) as documented.
  for (const path of ROUTES.filter((p) => !p.includes(":"))) {
    const method = Object.keys(doc.paths[path])[0];
    const res = await fetch(`${server.url}${path}`, method === "post" ? { method: "POST", headers: { "content-type": "application/json" }, body: "{}" } : {});
    expect([path, res.status === 404]).toEqual([path, false]);
  }
});
