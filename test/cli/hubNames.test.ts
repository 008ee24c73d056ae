// Every command that takes --model takes a Hub name, as the built binary runs it on a fresh machine: a temporary
// HF_HOME, the stand-in Hub (test/helpers/fakeHub.ts) serving the converter's fixtures under SPECTER2's names as
// HF_ENDPOINT. `specter2 embed --model allenai/specter2` writes the rows the same files converted by hand give; a
// second run needs no network; `--normalize` gives unit rows; `info NAME` says what the name is and what is cached;
// serve and search load by name; parity checks the model a name loads against its PyTorch reference; web serves it;
// every such command's help says so.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { convertModel } from "../../convert/convert";
import { FAKE_COMMIT, FakeHub, SPECTER2_FIXTURE_REPOS } from "../helpers/fakeHub";
import { FakeHfCache } from "../helpers/hfCache";
import { CLI_BIN, PAPERS_FILE, runCli, startServe, stopServe } from "../helpers/builtCli";
import { MODEL_FIXTURES, specter2LayoutRepos } from "../helpers/modelFixtures";

interface Row {
  paper_id: string;
  embedding: number[];
}

const rows = (file: string): Row[] =>
  readFileSync(file, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Row);

let hub: FakeHub;
let hf: FakeHfCache;
let work: string;
const env = () => ({ ...hf.env(), HF_ENDPOINT: hub.endpoint, HF_TOKEN: undefined, HF_ASSETS_CACHE: undefined });

beforeAll(async () => {
  hub = await FakeHub.start({ repos: SPECTER2_FIXTURE_REPOS });
  hf = new FakeHfCache();
  work = mkdtempSync(join(tmpdir(), "cli-hub-names-"));
});
afterAll(() => hub.close());

describe("specter2 embed --model allenai/specter2", () => {
  let byName: Row[];

  it("before anything is fetched, `info allenai/specter2` says what the name is and that nothing is cached", async () => {
    const r = await runCli(["info", "allenai/specter2"], { env: env() });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("Hub name allenai/specter2\n  SPECTER2 (original variant): its proximity adapter\n");
    expect(r.stdout).toContain("  loads the base allenai/specter2_base with the adapters proximity, adhoc_query, classification, regression; default adapter: proximity");
    expect(r.stdout).toContain(`  base            allenai/specter2_base@main: not in the cache (no ${hf.folder("allenai/specter2_base")}); fetched at the first load\n`);
    expect(r.stdout).toContain("  none yet: the first load converts it");
    expect(hub.requestCount).toBe(0);
  });

  it("on a fresh machine: fetches, converts, and writes the rows of the same files converted by hand", async () => {
    const out = join(work, "out.jsonl");
    const r = await runCli(["embed", "--model", "allenai/specter2", "--input", PAPERS_FILE, "--output", out], { env: env(), timeoutMs: 60_000 });
    if (r.status !== 0) throw new Error(`exit ${r.status}:\n${r.stderr}`);
    // The files as they were fetched, each verified, on stderr.
    expect(r.stderr).toMatch(/allenai\/specter2_base\/pytorch_model\.bin: [\d.]+ kB in [\d.]+ s \([^)]+\), sha256 verified/);
    byName = rows(out);
    const dir = join(work, "by-hand");
    await convertModel({
      base: SPECTER2_FIXTURE_REPOS["allenai/specter2_base"],
      adapters: ["proximity", "adhoc_query", "classification", "regression"].map((name) => ({
        name,
        dir: SPECTER2_FIXTURE_REPOS[name === "proximity" ? "allenai/specter2" : `allenai/specter2_${name}`],
      })),
      out: dir,
    });
    const byHandOut = join(work, "by-hand.jsonl");
    const h = await runCli(["embed", "--model", dir, "--input", PAPERS_FILE, "--output", byHandOut], { env: env(), timeoutMs: 60_000 });
    expect(h.status).toBe(0);
    expect(byName.length).toBe(readFileSync(PAPERS_FILE, "utf8").split("\n").filter(Boolean).length);
    expect(byName).toEqual(rows(byHandOut));
  }, 120_000);

  it("a second run needs no network: the Hub unreachable and HF_HUB_OFFLINE set, the same rows", async () => {
    const asked = hub.requestCount;
    const out = join(work, "again.jsonl");
    const r = await runCli(["embed", "--model", "allenai/specter2", "--input", PAPERS_FILE, "--output", out], {
      env: { ...env(), HF_ENDPOINT: "http://127.0.0.1:9", HF_HUB_OFFLINE: "1" },
      timeoutMs: 60_000,
    });
    if (r.status !== 0) throw new Error(`exit ${r.status}:\n${r.stderr}`);
    expect(hub.requestCount).toBe(asked);
    expect(rows(out)).toEqual(byName);
  }, 90_000);

  it("--normalize writes each row divided by its length", async () => {
    const out = join(work, "unit.jsonl");
    const r = await runCli(["embed", "--model", "allenai/specter2", "--input", PAPERS_FILE, "--output", out, "--normalize"], { env: env(), timeoutMs: 60_000 });
    if (r.status !== 0) throw new Error(`exit ${r.status}:\n${r.stderr}`);
    const unit = rows(out);
    unit.forEach((row, i) => {
      const v = byName[i].embedding;
      const norm = Math.hypot(...v);
      expect(Math.abs(Math.hypot(...row.embedding) - 1)).toBeLessThan(1e-6);
      row.embedding.forEach((x, j) => expect(Math.abs(x - v[j] / norm)).toBeLessThan(1e-6));
    });
  }, 90_000);

  it("`info allenai/specter2` then says which commits are cached, where, and the conversion a load takes, with its model info", async () => {
    const r = await runCli(["info", "allenai/specter2"], { env: env() });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(new RegExp(` {2}proximity +allenai/specter2@main: commit ${FAKE_COMMIT}, ${hf.cache}/models--allenai--specter2/snapshots/${FAKE_COMMIT}`));
    expect(r.stdout).toMatch(new RegExp(` {2}float32: ${hf.home}/assets/specter2-tfjs/models--allenai--specter2/float32-[0-9a-f]{16} \\(of the cached commits: what a load takes\\)`));
    // The converted directory's own info follows.
    expect(r.stdout).toMatch(/adapters \(4\), default: proximity/);
    const json = JSON.parse((await runCli(["info", "allenai/specter2", "--json"], { env: env() })).stdout);
    expect(json.hub.plan.defaultAdapter).toBe("proximity");
    expect(json.hub.repos.map((x: { commit: string }) => x.commit)).toEqual(Array(5).fill(FAKE_COMMIT));
    expect(json.model.defaultAdapter).toBe("proximity");
  });

  it("search and serve load by name", async () => {
    const index = join(work, "out.jsonl");
    const s = await runCli(["search", "--model", "allenai/specter2", "--index", index, "--query", "citation graphs", "--k", "3", "--json"], { env: env(), timeoutMs: 60_000 });
    if (s.status !== 0) throw new Error(`exit ${s.status}:\n${s.stderr}`);
    expect(s.stdout.trim().split("\n")).toHaveLength(3);
    const served = await startServe(["--model", "allenai/specter2", "--workers", "0"], { env: env(), timeoutMs: 60_000 });
    try {
      const info = (await (await fetch(`${served.url}/info`)).json()) as { adapters?: string[] };
      expect(JSON.stringify(info)).toContain("adhoc_query");
    } finally {
      await stopServe(served);
    }
  }, 120_000);
});

describe("every command that takes --model", () => {
  it.each([["embed"], ["serve"], ["search"], ["info"], ["parity"], ["web"], ["slurm", "submit"]])("%s --help says it takes a Hub name", async (...command) => {
    const r = await runCli([...command, "--help"]);
    expect(r.status).toBe(0);
    expect(r.stdout.replace(/\s+/g, " ")).toContain("or a Hub name owner/name[@revision]: allenai/specter2 is SPECTER2 with its four adapters");
  });
});

describe("parity and web by name", () => {
  // The SPECTER2-layout fixture served under SPECTER2's names, so that the PyTorch reference written for its files
  // is the reference of the model the name loads.
  let layoutHub: FakeHub;
  let cache: FakeHfCache;
  const layoutEnv = () => ({ ...cache.env(), HF_ENDPOINT: layoutHub.endpoint, HF_TOKEN: undefined, HF_ASSETS_CACHE: undefined });
  beforeAll(async () => {
    layoutHub = await FakeHub.start({ repos: specter2LayoutRepos() });
    cache = new FakeHfCache();
  });
  afterAll(() => layoutHub.close());

  it("parity --model allenai/specter2 checks the model the name loads against its PyTorch reference, within tolerance", async () => {
    const fixture = join(MODEL_FIXTURES, "specter2_layout", "reference.safetensors");
    const r = await runCli(["parity", "--model", "allenai/specter2", "--fixture", fixture, "--backend", "wasm"], { env: layoutEnv(), timeoutMs: 120_000 });
    if (r.status !== 0) throw new Error(`exit ${r.status}:\n${r.stdout}\n${r.stderr}`);
    // Each reference run (the base and both adapters, by the names the Hub name gave them) at every layer within the
    // parity tolerance: 3 runs × (embeddings, 2 layers, CLS).
    for (const run of ["base", "proximity", "adhoc_query"]) expect(r.stdout).toMatch(new RegExp(`^${run} +cls .* yes$`, "m"));
    expect(r.stdout).toContain("OK: 12 comparisons within max |Δ| 0.0001 and cosine ≥ 0.99999");
  }, 150_000);

  it("web --model allenai/specter2 serves the converted model's manifest and files at /model/", async () => {
    const child = spawn(process.execPath, [CLI_BIN, "web", "--model", "allenai/specter2", "--port", "0"], { env: { ...process.env, ...layoutEnv() }, stdio: ["ignore", "pipe", "pipe"] });
    const exited = new Promise((resolve) => child.once("exit", resolve));
    try {
      let output = "";
      const demo = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no URL in 90 s:\n${output}`)), 90_000);
        const read = (d: Buffer) => {
          output += d.toString();
          const url = /the demo is at (http:\/\/\S+)\/demo\//.exec(output)?.[1];
          if (url) {
            clearTimeout(timer);
            resolve(url);
          }
        };
        child.stdout.on("data", read);
        child.stderr.on("data", read);
      });
      const manifest = (await (await fetch(`${demo}/model/manifest.json`)).json()) as { adapters: Record<string, unknown>; default_adapter: string };
      expect(Object.keys(manifest.adapters).sort()).toEqual(["adhoc_query", "classification", "proximity", "regression"]);
      expect(manifest.default_adapter).toBe("proximity");
      expect((await fetch(`${demo}/model/config.json`)).status).toBe(200);
    } finally {
      child.kill("SIGTERM");
      await exited;
    }
  }, 120_000);
});
