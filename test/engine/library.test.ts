// The library API on a small SPECTER2-shaped model: adapter hot-swapping is free, nothing leaks,
// concurrent calls keep their own adapters, and batching never changes which vector a paper gets.
import * as tf from "@tensorflow/tfjs-core";
import { Specter2 } from "../../src/node/specter2";
import { convertedRandomModel } from "../helpers/models";

const papers = [
  { title: "Citation graphs for document embeddings", abstract: "We embed scientific papers with a transformer trained on citations." },
  { title: "Protein structure", abstract: null },
  { title: "A much longer title about adapters, bottlenecks and many other things", abstract: "Adapters add small modules to every layer. ".repeat(8) },
  "a short query",
  { title: "", abstract: "" },
];

/** Different matrix shapes (batch size, padding) change float summation order, by a few ulps at most. */
const BATCHING_TOLERANCE = 1e-5;

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe.each(["wasm", "cpu"] as const)("Specter2 on %s", (backend) => {
  // tfjs-backend-cpu is ~40× slower than wasm here: it gets fewer rounds of the repeated-call tests
  // (a leak of even one tensor per call shows after the first round).
  const rounds = backend === "cpu" ? 50 : 300;
  let dir: string;
  let model: Specter2;

  beforeAll(async () => {
    dir = await convertedRandomModel();
    model = await Specter2.load(dir, { workers: 0, backend });
  });
  afterAll(() => model?.close());

  it("loads every adapter of the directory next to one base and runs on the requested backend", () => {
    expect([...model.adapterNames].sort()).toEqual(["adhoc_query", "classification", "proximity", "regression"]);
    expect(model.backend.name).toBe(backend);
    expect(tf.getBackend()).toBe(backend);
  });

  it("switching adapters creates no tensors and leaves every base tensor as it was", async () => {
    const baseIds = model.local!.model.parameters().map((t) => t.id);
    const before = tf.memory();
    for (let i = 0; i < 100; i++)
      model
        .use(i % 2 ? "proximity" : "adhoc_query")
        .use(null)
        .use("regression");
    const after = tf.memory();
    expect(after.numTensors).toBe(before.numTensors);
    expect(after.numBytes).toBe(before.numBytes);
    expect(model.local!.model.parameters().map((t) => t.id)).toEqual(baseIds);
    expect(model.local!.model.parameters().every((t) => !t.isDisposed)).toBe(true);
  });

  it("normalize gives each vector divided by its length", async () => {
    const plain = await model.embed(papers, { adapter: "proximity" });
    const unit = await model.embed(papers, { adapter: "proximity", normalize: true });
    unit.forEach((u, i) => {
      const norm = Math.hypot(...plain[i]);
      expect(Math.abs(Math.hypot(...u) - 1)).toBeLessThan(1e-6);
      expect(
        maxAbsDiff(
          u,
          plain[i].map((x) => x / norm),
        ),
      ).toBeLessThan(1e-7);
    });
    await expect(model.embed(papers, { normalize: "yes" as unknown as boolean })).rejects.toThrow('normalize must be true or false, got "yes"');
  });

  it("gives each adapter its own vectors, and the same ones again after switching away and back", async () => {
    const first = await model.embed(papers, { adapter: "proximity" });
    const query = await model.embed(papers, { adapter: "adhoc_query" });
    const bare = await model.embed(papers, { adapter: null });
    const again = await model.embed(papers, { adapter: "proximity" });
    for (let i = 0; i < papers.length; i++) {
      expect(Array.from(again[i])).toEqual(Array.from(first[i]));
      // Different adapters must give clearly different vectors (relative change far above rounding).
      expect(maxAbsDiff(first[i], query[i])).toBeGreaterThan(1e-2);
      expect(maxAbsDiff(first[i], bare[i])).toBeGreaterThan(1e-2);
    }
  });

  it("uses the adapter chosen with use() when a call names none", async () => {
    model.use("classification");
    const implicit = await model.embed(papers.slice(0, 2));
    const explicit = await model.embed(papers.slice(0, 2), { adapter: "classification" });
    expect(implicit.map((v) => Array.from(v))).toEqual(explicit.map((v) => Array.from(v)));
    model.use(null);
  });

  it("returns vectors in input order whatever the batch size and length sorting", async () => {
    const alone = await Promise.all(papers.map(async (p) => (await model.embed([p], { adapter: "proximity" }))[0]));
    for (const batchSize of [1, 2, 5]) {
      const batched = await model.embed(papers, { adapter: "proximity", batchSize });
      batched.forEach((v, i) => expect(maxAbsDiff(v, alone[i])).toBeLessThanOrEqual(BATCHING_TOLERANCE));
    }
  });

  it("concurrent calls with different adapters each get their own adapter's result", async () => {
    const names = ["proximity", "adhoc_query", null, "regression", "classification"] as const;
    const sequential: Float32Array[][] = [];
    for (const a of names) sequential.push(await model.embed(papers, { adapter: a, batchSize: 2 }));
    const concurrent = await Promise.all(Array.from({ length: rounds / 10 }, (_, i) => model.embed(papers, { adapter: names[i % names.length], batchSize: 1 + (i % 3) })));
    concurrent.forEach((vectors, i) => {
      vectors.forEach((v, k) => expect(maxAbsDiff(v, sequential[i % names.length][k])).toBeLessThanOrEqual(BATCHING_TOLERANCE));
    });
  });

  it("does not grow tf.memory() over hundreds of batches with adapter switches", async () => {
    await model.embed(papers, { adapter: "proximity" }); // warm-up
    const before = tf.memory();
    const adapters = ["proximity", "adhoc_query", "classification", "regression", null];
    for (let i = 0; i < rounds; i++) {
      model.use(adapters[i % adapters.length]);
      await model.embed(papers.slice(0, 1 + (i % papers.length)), { batchSize: 2 });
    }
    const after = tf.memory();
    expect(after.numTensors).toBe(before.numTensors);
    expect(after.numBytes).toBe(before.numBytes);
    model.use(null);
  });

  it("rejects an unknown adapter, naming the ones there are", async () => {
    await expect(model.embed(["x"], { adapter: "nope" })).rejects.toThrow(/unknown adapter "nope" \(loaded: proximity, adhoc_query, classification, regression\)/);
  });
});

describe("load and dispose", () => {
  it("brings tf.memory().numTensors back to where it started", async () => {
    const dir = await convertedRandomModel();
    const start = tf.memory().numTensors;
    const model = await Specter2.load(dir, { workers: 0, backend: "cpu" });
    expect(tf.memory().numTensors).toBeGreaterThan(start);
    await model.embed(["warm up", { title: "t", abstract: "a" }], { adapter: "proximity" });
    model.local!.adapters.unload("regression");
    expect(model.adapterNames).not.toContain("regression");
    await model.close();
    expect(tf.memory().numTensors).toBe(start);
  });

  it("loads only the adapters asked for", async () => {
    const dir = await convertedRandomModel();
    const model = await Specter2.load(dir, { workers: 0, backend: "cpu", adapters: ["adhoc_query"] });
    expect(model.adapterNames).toEqual(["adhoc_query"]);
    await model.local!.loadAdapter("proximity");
    expect(model.adapterNames).toEqual(["adhoc_query", "proximity"]);
    await expect(model.local!.loadAdapter("proximity")).rejects.toThrow(/already loaded/);
    await model.close();
  });
});
