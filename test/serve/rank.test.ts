// POST /rank: SPECTER2's ad-hoc search in one request, and the queue mixing adapters in one forward pass. The
// ranking must be the one the library gives (the query with adhoc_query, the papers with proximity, ascending L2
// distance), and the query row must share a batch with the paper rows.
import { join } from "node:path";
import { encodeInputs } from "../../src/engine/inputs";
import { makeScorer } from "../../src/search/search";
import { Specter2 } from "../../src/node/specter2";
import type { Running } from "../helpers/serve";
import { get, post, startService } from "../helpers/serve";
import { EXAMPLE_PAPERS } from "../helpers/examplePapers";

const MODEL = join(__dirname, "..", "..", "weights", "specter2-tiny");
const papers = EXAMPLE_PAPERS.map(({ paper_id, title, abstract }) => ({ id: paper_id, title, abstract }));
const QUERY = "adapters for scientific document search";

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

/** The library's ranking: what /rank must answer. Batches differ (the server mixes the query into the papers'
 *  batch), which changes summation order by float rounding only: distances agree to 1e-4 relative. */
async function libraryRanking(query: string, queryAdapter: string, paperAdapter: string) {
  const [q] = await model.embed([query], { adapter: queryAdapter });
  const vectors = await model.embed(papers, { adapter: paperAdapter });
  const scorer = makeScorer("l2", q);
  return vectors.map((v, index) => ({ index, id: papers[index].id, distance: scorer.score(v) })).sort((a, b) => a.distance - b.distance || a.index - b.index);
}

it("ranks the papers by ascending L2 distance to the query, as the library does, with adhoc_query and proximity by default", async () => {
  const r = await post(`${server.url}/rank`, { query: QUERY, papers });
  expect(r.status).toBe(200);
  const expected = await libraryRanking(QUERY, "adhoc_query", "proximity");
  const results = r.body.results as { index: number; id: string; distance: number }[];
  expect(results.map((x) => x.index)).toEqual(expected.map((x) => x.index));
  expect(results.map((x) => x.id)).toEqual(expected.map((x) => x.id));
  results.forEach((x, k) => expect(Math.abs(x.distance - expected[k].distance)).toBeLessThan(1e-4 * expected[k].distance));
  // Another pair of adapters changes the ranking: the defaults were really used.
  const other = await libraryRanking(QUERY, "classification", "regression");
  expect(other.map((x) => x.index)).not.toEqual(expected.map((x) => x.index));
});

it("runs the query row in the same forward pass as the papers' where padding costs less than a pass, else apart", async () => {
  const count = (text: string, bucket: string) => Number(new RegExp(`specter2_batch_adapters_bucket\\{le="${bucket}"\\} (\\d+)`).exec(text)?.[1] ?? 0);
  const batchesOf = async (passOverheadTokens: number) => {
    const s = await startService(model, { passOverheadTokens });
    try {
      const before = (await get(`${s.url}/metrics`)).body as string; // the warm-up's batches
      await post(`${s.url}/rank`, { query: QUERY, papers: papers.slice(0, 4) });
      const text = (await get(`${s.url}/metrics`)).body as string;
      return { one: count(text, "1") - count(before, "1"), two: count(text, "2") - count(before, "2"), overhead: /^specter2_batch_pass_overhead_tokens (\S+)$/m.exec(text)?.[1] };
    } finally {
      await s.service.close();
    }
  };
  // Padding free: one batch holding both adapters, counted in le="2" but not in le="1".
  expect(await batchesOf(Infinity)).toEqual({ one: 0, two: 1, overhead: "+Inf" });
  // No padding allowed: the four papers (all of different lengths) and the query each run alone.
  expect(new Set(encodeInputs(model.tokenizer, papers.slice(0, 4), 512).map((ids) => ids.length)).size).toBe(4);
  expect(await batchesOf(0)).toEqual({ one: 5, two: 5, overhead: "0" });
});

it("takes other adapters, keeps top_k, and names papers without ids by index only", async () => {
  const r = await post(`${server.url}/rank`, {
    query: QUERY,
    papers: papers.map(({ title, abstract }) => ({ title, abstract })),
    query_adapter: "classification",
    paper_adapter: "regression",
    top_k: 3,
  });
  expect(r.status).toBe(200);
  const expected = (await libraryRanking(QUERY, "classification", "regression")).slice(0, 3);
  expect(r.body.results.map((x: { index: number }) => x.index)).toEqual(expected.map((x) => x.index));
  expect(r.body.results.every((x: object) => !("id" in x))).toBe(true);
});

it.each([
  ["an unknown adapter", { query: QUERY, papers, paper_adapter: "nope" }, 404, "model_not_found"],
  ["no papers", { query: QUERY, papers: [] }, 400, undefined],
  ["top_k 0", { query: QUERY, papers, top_k: 0 }, 400, undefined],
  ["too many inputs (papers and the query)", { query: QUERY, papers: Array.from({ length: 32 }, () => papers[0]) }, 413, "too_many_inputs"],
])("refuses %s in the TEI error style", async (_what, body, status, type) => {
  const r = await post(`${server.url}/rank`, body);
  expect(r.status).toBe(status);
  expect(typeof r.body.error).toBe("string");
  expect(r.body.error_type).toBe("Validation");
  if (type) expect(r.body.code).toBe(type);
});
