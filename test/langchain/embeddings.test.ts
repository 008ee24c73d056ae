// `specter2-tfjs/langchain` with the real @langchain/core and LangChain's in-memory vector store (@langchain/classic),
// on the SPECTER2-layout fixture that PyTorch embedded (test/fixtures/models/specter2_layout): documents are embedded
// with proximity and queries with adhoc_query, the reference's vectors within the parity tolerance, so that
// similaritySearch returns the papers in the order the reference vectors give. By a directory and by a Hub name (the
// stand-in Hub serving the fixture under SPECTER2's names).
import { join } from "node:path";
import type { EmbeddingsInterface } from "@langchain/core/embeddings";
import { MemoryVectorStore } from "@langchain/classic/vectorstores/memory";
import { Specter2Embeddings } from "../../src/langchain";
import { DEFAULT_TOLERANCE, readReference } from "../../src/parity";
import { alignedBytes } from "../../src/weights/dtypes";
import { FakeHub } from "../helpers/fakeHub";
import { FakeHfCache, withEnv } from "../helpers/hfCache";
import { convertModelFixture, MODEL_FIXTURES, specter2LayoutRepos } from "../helpers/modelFixtures";

const REFERENCE = join(MODEL_FIXTURES, "specter2_layout", "reference.safetensors");
const { meta, tensors } = readReference(REFERENCE);
const TEXTS = (meta as unknown as { texts: string[] }).texts;
const PAPERS = (meta as unknown as { papers: { title: string; abstract: string | null }[] }).papers;
const LOAD = { workers: 0, backend: "wasm" } as const;

function referenceRows(run: string): Float32Array[] {
  const t = tensors.get(`${run}.cls`)!;
  const values = new Float32Array(alignedBytes(t.data));
  const [rows, hidden] = t.shape;
  return Array.from({ length: rows }, (_, r) => values.subarray(r * hidden, (r + 1) * hidden));
}

function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return dot / Math.sqrt(na * nb);
}

function maxAbsDiff(ours: number[][], reference: Float32Array[]): number {
  return Math.max(...ours.map((row, r) => Math.max(...row.map((x, c) => Math.abs(x - reference[r][c])))));
}

const PROXIMITY = referenceRows("proximity");
const ADHOC = referenceRows("adhoc_query");

/** The papers (their indices) in the order the reference's vectors rank them for the query of paper `q`. */
function referenceOrder(q: number): number[] {
  return PROXIMITY.map((p, j) => ({ j, score: cosine(ADHOC[q], p) }))
    .sort((a, b) => b.score - a.score)
    .map((s) => s.j);
}

/** similaritySearch for each paper's text as the query: the papers it returns, by index, in order. */
async function searchOrders(embeddings: EmbeddingsInterface): Promise<number[][]> {
  const store = await MemoryVectorStore.fromTexts(
    TEXTS,
    TEXTS.map((_, i) => ({ i })),
    embeddings,
  );
  const orders: number[][] = [];
  for (let q = 0; q < TEXTS.length; q++) orders.push((await store.similaritySearch(TEXTS[q], TEXTS.length)).map((d) => (d.metadata as { i: number }).i));
  return orders;
}

describe("Specter2Embeddings on a model directory", () => {
  let embeddings: Specter2Embeddings;

  beforeAll(async () => {
    embeddings = new Specter2Embeddings({ model: (await convertModelFixture("specter2_layout")).out, loadOptions: LOAD, batchSize: 5 });
  });
  afterAll(() => embeddings.close());

  it("embedDocuments gives the reference's proximity vectors, of strings and of {title, abstract} papers alike", async () => {
    const ofTexts = await embeddings.embedDocuments(TEXTS);
    expect(maxAbsDiff(ofTexts, PROXIMITY)).toBeLessThanOrEqual(DEFAULT_TOLERANCE.maxAbs);
    expect(await embeddings.embedDocuments(PAPERS)).toEqual(ofTexts);
  });

  it("embedQuery gives the reference's adhoc_query vector", async () => {
    expect(maxAbsDiff([await embeddings.embedQuery(TEXTS[3])], [ADHOC[3]])).toBeLessThanOrEqual(DEFAULT_TOLERANCE.maxAbs);
  });

  it("the reference's rankings are clear: its closest two scores of a query differ by far more than ours differ from its", async () => {
    const docs = await embeddings.embedDocuments(TEXTS);
    let gap = Infinity;
    let error = 0;
    for (let q = 0; q < TEXTS.length; q++) {
      const query = await embeddings.embedQuery(TEXTS[q]);
      const scores = PROXIMITY.map((p) => cosine(ADHOC[q], p));
      scores.forEach((s, j) => (error = Math.max(error, Math.abs(s - cosine(query, docs[j])))));
      const sorted = [...scores].sort((a, b) => b - a);
      for (let i = 1; i < sorted.length; i++) gap = Math.min(gap, sorted[i - 1] - sorted[i]);
    }
    expect(gap).toBeGreaterThan(10 * error);
  });

  it("LangChain's in-memory store returns the papers in the order the reference vectors give", async () => {
    expect(await searchOrders(embeddings)).toEqual(TEXTS.map((_, q) => referenceOrder(q)));
  });

  it("the adapters, normalize and batching are options; close() frees the model and a later call loads it again", async () => {
    const swapped = new Specter2Embeddings({ model: embeddings.model, loadOptions: LOAD, documentAdapter: "adhoc_query", queryAdapter: null, normalize: true, batchSize: 1 });
    try {
      const [doc] = await swapped.embedDocuments([TEXTS[0]]);
      expect(maxAbsDiff([doc.map((x) => x * Math.hypot(...ADHOC[0]))], [ADHOC[0]])).toBeLessThanOrEqual(DEFAULT_TOLERANCE.maxAbs);
      expect(Math.abs(Math.hypot(...(await swapped.embedQuery(TEXTS[0]))) - 1)).toBeLessThan(1e-6);
      const first = await swapped.specter2();
      await swapped.close();
      await expect(first.embed(["x"])).rejects.toThrow();
      expect(await swapped.embedDocuments([TEXTS[0]])).toEqual([doc]);
    } finally {
      await swapped.close();
    }
  });

  it("an adapter the model lacks is refused at once, naming those it has", async () => {
    const wrong = new Specter2Embeddings({ model: embeddings.model, loadOptions: LOAD, documentAdapter: "classification" });
    try {
      await expect(wrong.embedDocuments(["x"])).rejects.toMatchObject({ code: "UNKNOWN_ADAPTER", message: expect.stringContaining("classification") as string });
    } finally {
      await wrong.close();
    }
  });
});

describe("Specter2Embeddings by a Hub name", () => {
  it("allenai/specter2 from the stand-in Hub: the same rankings", async () => {
    const hub = await FakeHub.start({ repos: specter2LayoutRepos() });
    const hf = new FakeHfCache();
    const embeddings = new Specter2Embeddings({ loadOptions: { ...LOAD, endpoint: hub.endpoint } });
    try {
      expect(embeddings.model).toBe("allenai/specter2");
      const orders = await withEnv({ ...hf.env(), HF_ASSETS_CACHE: undefined, HF_ENDPOINT: undefined }, () => searchOrders(embeddings));
      expect(orders).toEqual(TEXTS.map((_, q) => referenceOrder(q)));
      expect(hub.reposAsked()).toContain("allenai/specter2_adhoc_query");
    } finally {
      await embeddings.close();
      await hub.close();
    }
  });
});
