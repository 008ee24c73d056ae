// The engine's one set of defaults and one front half: the adapter a call gets when it names none is the same
// from the library, `specter2 embed`, `/v1/embeddings` and `/embed`; in-process and worker threads give the same
// vectors; bad inputs and options are refused with a code, naming what is wrong.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultAdapterOf, resolveMaxLength } from "../../src/engine/defaults";
import { defaultThreads } from "../../src/backend/candidates";
import { Specter2 } from "../../src/node/specter2";
import { convertedRandomModel } from "../helpers/models";
import { post, startService } from "../helpers/serve";

const ROOT = join(__dirname, "..", "..");
const BIN = join(ROOT, "dist", "src", "cli", "main.js");
const TINY = join(ROOT, "weights", "specter2-tiny");
const TEXT = "citation recommendation with graph neural networks";

describe("the default adapter", () => {
  it("is the directory's default_adapter when loaded, else the first loaded adapter, else the base", () => {
    const loaded = ["proximity", "adhoc_query"];
    expect(defaultAdapterOf("adhoc_query", loaded)).toBe("adhoc_query");
    expect(defaultAdapterOf(undefined, loaded)).toBe("proximity");
    expect(defaultAdapterOf("regression", loaded)).toBe("proximity");
    expect(defaultAdapterOf(null, loaded)).toBeNull();
    expect(defaultAdapterOf(undefined, [])).toBeNull();
  });

  it("is recorded by convert: its first --adapter, or the one named", async () => {
    const dir = await convertedRandomModel();
    expect(JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")).default_adapter).toBe("proximity");
    const model = await Specter2.load(dir, { backend: "cpu", workers: 0 });
    try {
      expect(model.defaultAdapter).toBe("proximity");
      // null, "base" and "none" mean the bare base; use() changes this object's default only.
      expect([model.resolveAdapter(null), model.resolveAdapter("base"), model.resolveAdapter("none")]).toEqual([null, null, null]);
      expect(model.use("regression").resolveAdapter(undefined)).toBe("regression");
      expect(() => model.resolveAdapter("nope")).toThrow(expect.objectContaining({ code: "UNKNOWN_ADAPTER", adapter: "nope" }));
    } finally {
      await model.close();
    }
  });

  it("gives the same vector from the library, specter2 embed, /v1/embeddings and /embed when a call names none", async () => {
    const model = await Specter2.load(TINY, { backend: "wasm", workers: 0 });
    const server = await startService(model);
    try {
      expect(model.defaultAdapter).toBe("proximity");
      const [library] = await model.embed([TEXT]);
      const [named] = await model.embed([TEXT], { adapter: "proximity" });
      const [bare] = await model.embed([TEXT], { adapter: null });
      expect(library).toEqual(named);
      expect(library).not.toEqual(bare); // the default is an adapter, not the base: the comparison can fail

      const tmp = mkdtempSync(join(tmpdir(), "specter2-engine-"));
      writeFileSync(join(tmp, "in.jsonl"), `${JSON.stringify({ id: 1, text: TEXT })}\n`);
      const cli = spawnSync(process.execPath, [BIN, "embed", "--model", TINY, "--input", join(tmp, "in.jsonl"), "--output", join(tmp, "out.jsonl"), "--backend", "wasm"], {
        encoding: "utf8",
      });
      expect(cli.stderr).toMatch(/with adapter proximity \(the model's default\)/);
      expect(cli.status).toBe(0);
      const fromCli = Float32Array.from(JSON.parse(readFileSync(join(tmp, "out.jsonl"), "utf8")).embedding);

      const openai = await post(`${server.url}/v1/embeddings`, { input: TEXT });
      expect(openai.status).toBe(200);
      expect(openai.body.model).toBe("proximity");
      const tei = await post(`${server.url}/embed`, { inputs: TEXT });
      expect(tei.status).toBe(200);
      // One input, one batch, the same backend: the same numbers wherever the call is made.
      for (const v of [fromCli, Float32Array.from(openai.body.data[0].embedding), Float32Array.from(tei.body[0])]) expect(v).toEqual(library);
    } finally {
      await server.service.close();
      await model.close();
    }
  });
});

describe("workers", () => {
  it("give the in-process vectors, and split the cores between them on native", async () => {
    const inputs = [TEXT, { title: "Protein folding", abstract: "We predict structures. ".repeat(20) }, { title: "Only a title" }];
    const local = await Specter2.load(TINY, { backend: "wasm", workers: 0 });
    const pooled = await Specter2.load(TINY, { backend: "wasm", workers: 2 });
    try {
      expect([local.workers, pooled.workers]).toEqual([0, 2]);
      expect(pooled.runsOn).toBe("wasm (2 workers)");
      const [a, b] = await Promise.all([local.embed(inputs, { batchSize: 1 }), pooled.embed(inputs, { batchSize: 1 })]);
      // Compared as plain arrays: vectors from a worker are Float32Arrays of another realm than jest's.
      b.forEach((v, i) => expect(Array.from(v)).toEqual(Array.from(a[i])));
    } finally {
      await Promise.all([local.close(), pooled.close()]);
    }
    expect(defaultThreads(0, 8)).toBeUndefined(); // oneDNN's own default: OMP_NUM_THREADS, else every core
    expect(defaultThreads(1, 8)).toBeUndefined();
    for (const cores of [1, 2, 7, 16]) for (const workers of [2, 3, 8]) expect(workers * defaultThreads(workers, cores)!).toBeLessThanOrEqual(Math.max(cores, workers));
    expect(defaultThreads(2, 8)).toBe(4);
  });
});

describe("the front half refuses what it cannot embed, before any work", () => {
  let model: Specter2;
  beforeAll(async () => {
    model = await Specter2.load(TINY, { backend: "wasm", workers: 0 });
  });
  afterAll(() => model?.close());

  it.each([
    ["a number among the inputs", () => model.embed(["ok", 5 as never]), { code: "BAD_INPUT", input: 1 }],
    ["a title that is not a string", () => model.embed([{ title: ["x"] as never }]), { code: "BAD_INPUT", input: 0, field: "title" }],
    ["inputs that are not a list", () => model.embed("a string" as never), { code: "BAD_INPUT" }],
    ["a maxLength over the model's positions", () => model.embed(["x"], { maxLength: 100_000 }), { code: "BAD_INPUT", field: "maxLength" }],
    ["a batch size of 0", () => model.embed(["x"], { batchSize: 0 }), { code: "BAD_INPUT", field: "batchSize" }],
    ["an unknown adapter", () => model.embed(["x"], { adapter: "nope" }), { code: "UNKNOWN_ADAPTER", adapter: "nope" }],
  ])("%s", async (_what, call, expected) => {
    await expect(call()).rejects.toMatchObject(expected);
  });

  it("refuses a negative worker count and a model directory that is not there", async () => {
    await expect(Specter2.load(TINY, { workers: -1 })).rejects.toMatchObject({ code: "BAD_INPUT", field: "workers" });
    await expect(Specter2.load(join(ROOT, "no-such-model"))).rejects.toMatchObject({ code: "MODEL_NOT_FOUND" });
  });

  it("defaults maxLength to 512 or the model's positions, whichever is fewer", () => {
    expect(resolveMaxLength(undefined, 512)).toBe(512);
    expect(resolveMaxLength(undefined, 128)).toBe(128);
    expect(resolveMaxLength(64, 128)).toBe(64);
  });
});
