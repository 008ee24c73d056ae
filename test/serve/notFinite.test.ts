// A model whose activations overflow float32 for one token (finite weights): every route that returns or ranks
// vectors refuses an input holding that token with NOT_FINITE's message naming the input, as the library does,
// never a vector of nulls (NaN) or a ranking with that paper first; the other inputs and requests are unaffected.
import { Specter2 } from "../../src/node/specter2";
import { OVERFLOWING_TOKEN, overflowingModel } from "../helpers/overflowingModel";
import type { Running } from "../helpers/serve";
import { post, startService } from "../helpers/serve";

const BAD = `a survey of ${OVERFLOWING_TOKEN} formation`;
const GOOD = "citation recommendation";

let model: Specter2;
let server: Running;
beforeAll(async () => {
  model = await Specter2.load(overflowingModel(), { workers: 0, backend: "wasm" });
  server = await startService(model);
});
afterAll(async () => {
  await server?.service.close();
  await model?.close();
});

/** The library's refusal of the same input: what every route must say. */
const LIBRARY_MESSAGE = /^the embedding of input 1 holds (NaN|-?Infinity) at dimension \d+: the weights or activations overflow float32$/;

it("the model really overflows for the token alone: the library refuses it with NOT_FINITE naming the input", async () => {
  await expect(model.embed([GOOD, BAD], { adapter: "proximity" })).rejects.toMatchObject({ code: "NOT_FINITE", message: expect.stringMatching(LIBRARY_MESSAGE) });
  const [v] = await model.embed([GOOD], { adapter: "proximity" });
  expect(v.every(Number.isFinite)).toBe(true);
});

describe("every route refuses the input (500, code not_finite), naming it", () => {
  it.each(["float", "base64"])("POST /v1/embeddings, encoding_format %s", async (encoding_format) => {
    const r = await post(`${server.url}/v1/embeddings`, { model: "proximity", input: [GOOD, BAD], encoding_format });
    expect(r.status).toBe(500);
    expect(r.body.error).toMatchObject({ type: "server_error", code: "not_finite", message: expect.stringMatching(LIBRARY_MESSAGE) });
  });

  it("POST /embed, texts and papers", async () => {
    const texts = await post(`${server.url}/embed`, { inputs: [GOOD, BAD], adapter: "classification" });
    const papers = await post(`${server.url}/embed`, { papers: [{ title: GOOD }, { title: "stars", abstract: BAD }] });
    for (const r of [texts, papers]) {
      expect(r.status).toBe(500);
      expect(r.body).toMatchObject({ error_type: "Backend", code: "not_finite", error: expect.stringMatching(LIBRARY_MESSAGE) });
    }
  });

  it("POST /rank: a paper that overflows is named (by position), not ranked first; a query that overflows is named", async () => {
    const paper = await post(`${server.url}/rank`, {
      query: GOOD,
      papers: [
        { id: "a", title: GOOD },
        { id: "b", title: BAD },
        { id: "c", title: "quantum physics" },
      ],
    });
    expect(paper.status).toBe(500);
    expect(paper.body).toMatchObject({ code: "not_finite", error: expect.stringMatching(/^the embedding of paper 1 holds (NaN|-?Infinity) at dimension \d+/) });
    const query = await post(`${server.url}/rank`, { query: BAD, papers: [{ id: "a", title: GOOD }] });
    expect(query.status).toBe(500);
    expect(query.body).toMatchObject({ code: "not_finite", error: expect.stringMatching(/^the embedding of the query holds (NaN|-?Infinity) at dimension \d+/) });
  });

  it("requests batched with one that overflows are answered with finite vectors", async () => {
    const [bad, ...good] = await Promise.all([
      post(`${server.url}/embed`, { inputs: [BAD], adapter: "proximity" }),
      ...Array.from({ length: 4 }, (_, i) => post(`${server.url}/v1/embeddings`, { model: "proximity", input: [`${GOOD} ${i}`, "quantum physics"] })),
    ]);
    expect(bad.status).toBe(500);
    expect(bad.body.error).toMatch(/^the embedding of input 0 holds/);
    for (const r of good) {
      expect(r.status).toBe(200);
      for (const d of r.body.data as { embedding: number[] }[]) expect(d.embedding.every((x) => typeof x === "number" && Number.isFinite(x))).toBe(true);
    }
  });
});
