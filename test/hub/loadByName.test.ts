// `Specter2.load("allenai/specter2")` in Node, against the stand-in Hub (test/helpers/fakeHub.ts) serving the
// converter's fixtures under SPECTER2's names and a Hugging Face cache in a temporary HF_HOME: the raw files land in
// the cache as huggingface_hub lays them out, the conversion in its assets cache once per commits and dtype, and the
// vectors are those of the same files converted by hand. A second load needs no network (the stand-in is gone and
// HF_HUB_OFFLINE is set); a corrupted download is refused by its sha256, naming the URL; other repos are what they
// hold: a BERT base alone, an AdapterHub adapter with the base its adapter_config.json names, else refused.
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { convertModel } from "../../convert/convert";
import { Specter2 } from "../../src/node/specter2";
import type { Manifest, Progress } from "../../src/weights/modelDir";
import { FAKE_COMMIT, FakeHub, SPECTER2_FIXTURE_REPOS } from "../helpers/fakeHub";
import { FakeHfCache, withEnv } from "../helpers/hfCache";

const PAPERS = [{ title: "Citation graphs", abstract: "We embed papers." }, "a query", { title: "Proteins", abstract: null }];
const LOAD = { workers: 0, backend: "wasm" } as const;

/** The same fixture folders converted by hand, as SPECTER2's names would give them. */
async function byHand(): Promise<string> {
  const out = join(mkdtempSync(join(tmpdir(), "by-hand-")), "model");
  const adapters = ["proximity", "adhoc_query", "classification", "regression"].map((name) => ({
    name,
    dir: SPECTER2_FIXTURE_REPOS[name === "proximity" ? "allenai/specter2" : `allenai/specter2_${name}`],
  }));
  await convertModel({ base: SPECTER2_FIXTURE_REPOS["allenai/specter2_base"], adapters, out });
  return out;
}

async function vectors(model: Specter2, adapter?: string): Promise<number[][]> {
  return (await model.embed(PAPERS, adapter === undefined ? {} : { adapter })).map((v) => [...v]);
}

describe("a SPECTER2 name", () => {
  let hub: FakeHub;
  let hf: FakeHfCache;
  const env = () => ({ ...hf.env(), HF_ENDPOINT: hub.endpoint, HF_TOKEN: undefined });

  beforeAll(async () => {
    hub = await FakeHub.start({ repos: SPECTER2_FIXTURE_REPOS });
    hf = new FakeHfCache();
  });
  afterAll(() => hub.close());

  it("loads the base with its four adapters, the named one the default, with the vectors of the same files converted by hand", async () => {
    const reports: Progress[] = [];
    const model = await withEnv(env(), () => Specter2.load("allenai/specter2_adhoc_query", { ...LOAD, onProgress: (p) => reports.push(p) }));
    const reference = await Specter2.load(await byHand(), LOAD);
    try {
      expect([...model.adapterNames].sort()).toEqual(["adhoc_query", "classification", "proximity", "regression"]);
      expect(model.defaultAdapter).toBe("adhoc_query");
      expect(await vectors(model)).toEqual(await vectors(reference, "adhoc_query"));
      expect(await vectors(model, "proximity")).toEqual(await vectors(reference, "proximity"));
      // The raw files in the Hugging Face cache, as huggingface_hub lays them out; the conversion in its assets cache.
      expect(readFileSync(join(hf.folder("allenai/specter2_base"), "refs", "main"), "utf8")).toBe(FAKE_COMMIT);
      expect(readdirSync(join(hf.folder("allenai/specter2_base"), "snapshots", FAKE_COMMIT)).sort()).toEqual([
        "config.json",
        "pytorch_model.bin",
        "special_tokens_map.json",
        "tokenizer_config.json",
        "vocab.txt",
      ]);
      expect(model.dir.startsWith(join(hf.home, "assets", "specter2-tfjs", "models--allenai--specter2_adhoc_query", "float32-"))).toBe(true);
      const manifest = JSON.parse(readFileSync(join(model.dir, "manifest.json"), "utf8")) as Manifest;
      expect(manifest.base).toMatchObject({ origin: "download", repo: "allenai/specter2_base", revision: "main", commit: FAKE_COMMIT });
      expect(manifest.adapters.adhoc_query).toMatchObject({ origin: "download", repo: "allenai/specter2_adhoc_query", commit: FAKE_COMMIT });
      expect(manifest.default_adapter).toBe("adhoc_query");
      // Progress in bytes: every byte fetched, of a total that ends at the files' sizes.
      const last = reports[reports.length - 1];
      const fetched = hub.requests.filter((r) => r.file !== undefined && r.on === "cdn").length;
      expect(fetched).toBeGreaterThan(0);
      expect(last.loaded).toBe(last.total);
      expect(last.total).toBeGreaterThan(10_000);
    } finally {
      await model.close();
      await reference.close();
    }
  });

  it("a second load needs no network: the Hub gone, HF_HUB_OFFLINE set, the same directory and vectors", async () => {
    const first = await withEnv(env(), () => Specter2.load("allenai/specter2_adhoc_query", LOAD));
    const firstVectors = await vectors(first);
    await first.close();
    const asked = hub.requestCount;
    const second = await withEnv({ ...env(), HF_ENDPOINT: "http://127.0.0.1:9", HF_HUB_OFFLINE: "1" }, () => Specter2.load("allenai/specter2_adhoc_query", LOAD));
    try {
      expect(hub.requestCount).toBe(asked);
      expect(second.dir).toBe(first.dir);
      expect(await vectors(second)).toEqual(firstVectors);
    } finally {
      await second.close();
    }
  });

  it("another dtype is another conversion of the same cached files; `adapters` picks which are fetched and converted", async () => {
    const before = hub.requestsFor("allenai/specter2_base/pytorch_model.bin").length;
    const model = await withEnv(env(), () => Specter2.load("allenai/specter2", { ...LOAD, dtype: "int8", adapters: ["proximity", "regression"] }));
    try {
      expect(hub.requestsFor("allenai/specter2_base/pytorch_model.bin")).toHaveLength(before);
      expect(model.manifest.dtype).toBe("int8");
      expect(model.adapterNames).toEqual(["proximity", "regression"]);
      expect(model.defaultAdapter).toBe("proximity");
      expect(model.dir).toMatch(/models--allenai--specter2[/\\]int8-[0-9a-f]{16}$/);
    } finally {
      await model.close();
    }
  });

  it("offline with an empty cache: the error names what the cache lacks", async () => {
    const empty = new FakeHfCache();
    await expect(withEnv({ ...empty.env(), HF_ENDPOINT: hub.endpoint, HF_HUB_OFFLINE: "1" }, () => Specter2.load("allenai/specter2", LOAD))).rejects.toMatchObject({
      code: "MODEL_NOT_FOUND",
      message: expect.stringContaining(`the Hugging Face cache ${empty.cache} lacks what the conversion reads:\n  allenai/specter2_base@main: not in the cache`) as string,
    });
  });
});

describe("a corrupted download", () => {
  it("is refused by its sha256, naming the URL, and nothing is converted", async () => {
    const hub = await FakeHub.start({ repos: SPECTER2_FIXTURE_REPOS });
    const hf = new FakeHfCache();
    hub.corrupt.add("allenai/specter2_base/pytorch_model.bin");
    try {
      const error = await withEnv({ ...hf.env(), HF_ENDPOINT: hub.endpoint }, () => Specter2.load("allenai/specter2", LOAD)).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: "HUB_ERROR", url: expect.stringMatching(/^http:\/\/localhost:\d+\/cdn\/[0-9a-f]{64}$/) as string });
      expect((error as Error).message).toMatch(
        /allenai\/specter2_base\/pytorch_model\.bin: sha256 mismatch, the Hub says [0-9a-f]{64} but the downloaded bytes have [0-9a-f]{64} \(from http:\/\/localhost/,
      );
      expect(existsSync(join(hf.home, "assets"))).toBe(false);
    } finally {
      await hub.close();
    }
  });
});

describe("any other repo, by what it holds", () => {
  let hub: FakeHub;
  let hf: FakeHfCache;
  const env = () => ({ ...hf.env(), HF_ENDPOINT: hub.endpoint });

  beforeAll(async () => {
    // A user's adapter whose adapter_config.json names its base, that base, and a repo that is neither.
    const work = mkdtempSync(join(tmpdir(), "other-repos-"));
    const adapter = join(work, "adapter");
    cpSync(SPECTER2_FIXTURE_REPOS["allenai/specter2"], adapter, { recursive: true });
    const config = JSON.parse(readFileSync(join(adapter, "adapter_config.json"), "utf8")) as Record<string, unknown>;
    writeFileSync(join(adapter, "adapter_config.json"), JSON.stringify({ ...config, model_name: "someone/tiny-bert" }));
    const other = join(work, "other");
    mkdirSync(other);
    writeFileSync(join(other, "README.md"), "# not a model\n");
    hub = await FakeHub.start({ repos: { "someone/my-adapter": adapter, "someone/tiny-bert": SPECTER2_FIXTURE_REPOS["allenai/specter2_base"], "someone/notes": other } });
    hf = new FakeHfCache();
  });
  afterAll(() => hub.close());

  it("an AdapterHub adapter loads with the base its adapter_config.json names, itself the default", async () => {
    const model = await withEnv(env(), () => Specter2.load("someone/my-adapter", LOAD));
    try {
      expect(model.adapterNames).toEqual(["my-adapter"]);
      expect(model.defaultAdapter).toBe("my-adapter");
      expect(model.manifest.base).toMatchObject({ repo: "someone/tiny-bert", commit: FAKE_COMMIT });
      expect((await model.embed(PAPERS)).every((v) => v.length === model.hiddenSize)).toBe(true);
    } finally {
      await model.close();
    }
  });

  it("a BERT base loads alone, with no adapter", async () => {
    const model = await withEnv(env(), () => Specter2.load("someone/tiny-bert", LOAD));
    try {
      expect(model.adapterNames).toEqual([]);
      expect(model.defaultAdapter).toBeNull();
    } finally {
      await model.close();
    }
  });

  it("anything else is refused with what was found; a repo that is not there with the Hub's 401", async () => {
    await expect(withEnv(env(), () => Specter2.load("someone/notes", LOAD))).rejects.toThrow(
      'someone/notes@main is neither SPECTER2\'s nor a BERT base (config.json with model_type "bert") nor an AdapterHub adapter (adapter_config.json): it has neither file',
    );
    await expect(withEnv(env(), () => Specter2.load("someone/nothing-here", LOAD))).rejects.toThrow(/HTTP 401, repo someone\/nothing-here does not exist, or is private/);
    // A mistyped relative path reads as a Hub name: the error says so.
    await expect(withEnv(env(), () => Specter2.load("models/my-model", LOAD))).rejects.toThrow(
      `\n(models/my-model was taken for a Hub name, there being no directory ${join(process.cwd(), "models", "my-model")})`,
    );
  });
});

describe("a model directory", () => {
  it.each([{ revision: "v2" }, { dtype: "int8" as const }, { offline: true }, { endpoint: "http://127.0.0.1:9" }, { token: "hf_x" }])(
    "refuses %j, which only a Hub name can use, instead of ignoring it",
    async (option) => {
      const dir = join(__dirname, "..", "..", "weights", "specter2-tiny");
      await expect(Specter2.load(dir, { workers: 0, backend: "cpu", ...option })).rejects.toMatchObject({
        code: "BAD_INPUT",
        field: Object.keys(option)[0],
        message: expect.stringContaining(`apply to a Hub name, and ${dir} is a model directory`),
      });
    },
  );
});
