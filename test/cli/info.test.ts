// `specter2 info` on a model converted from the PyTorch-made fixtures: the values printed are those of the
// fixture's Hub files (config.json, adapter_config.json) and of the files on disk, and nothing is loaded.
import { cpSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { nativeAddonPath } from "../../src/backend/native/addon";
import { probeAutoBackend } from "../../src/backend/candidates";
import { infoCommand } from "../../src/cli/commands/info";
import type { ModelInfo } from "../../src/modelInfo";
import { describeModel, formatInfo } from "../../src/modelInfo";
import { convertCommand } from "../../src/cli/commands/convert";
import { describeProvenance } from "../../src/hub/sources";
import type { Manifest } from "../../src/weights/modelDir";
import { SPECTER2_FIXTURE_REPOS } from "../helpers/fakeHub";
import { FakeHfCache, withEnv } from "../helpers/hfCache";
import { convertFixtureModel, runCommand, tempDir } from "../helpers/search";

// The documented order (README, Backends); native is "installed" where npm install built its addon.
const AUTO_ORDER = [
  ["node-gpu", "@tensorflow/tfjs-node-gpu"],
  ["native", nativeAddonPath()],
  ["node", "@tensorflow/tfjs-node"],
  ["wasm", "@tensorflow/tfjs-backend-wasm"],
  ["cpu", "@tensorflow/tfjs-backend-cpu"],
];

let model: string;
let text: string;

beforeAll(async () => {
  model = await convertFixtureModel(join(tempDir("info"), "model"));
  text = (await runCommand(infoCommand, ["info", "--model", model])).stdout;
});

function filesOnDisk(dir: string): [string, number][] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name !== "manifest.json")
    .map((e) => [relative(dir, join(e.parentPath, e.name)).split("\\").join("/"), statSync(join(e.parentPath, e.name)).size]);
}

describe("specter2 info", () => {
  it("prints the architecture of the fixture's config.json", () => {
    // test/fixtures/convert/bin_prefixed/base/config.json: 2 layers, hidden 16, 2 heads, intermediate 32, vocab 12, gelu, 16 positions.
    expect(text).toContain("layers 2, hidden 16, heads 2 × 8, intermediate 32, activation gelu");
    expect(text).toContain("vocabulary 12, max positions 16, token types 2, layer_norm_eps 1e-12");
  });

  it("prints each adapter's configuration, with bottleneck sizes worked out per layer", () => {
    // houlsby_preset: the "houlsby" preset = adapters at both sites, swish, reduction_factor 16 → 16 / 16 = 1.
    expect(text).toContain("proximity ([HOU]) from");
    expect(text).toContain("sites: attention (after self-attention), output (after the feed-forward)");
    expect(text).toContain("bottleneck size: 1 in every layer (hidden 16 / reduction_factor 16), non_linearity swish");
    // ln_shared: reduction_factor {"0": 2, "default": 4}, leave_out [1, 7] → layer 0: 16 / 2 = 8, layer 1 none.
    expect(text).toContain("adhoc_query ([LNS]) from");
    expect(text).toContain('bottleneck size: layer 0: 8; layer 1: none (hidden 16 / reduction_factor {"0":2,"default":4}), non_linearity gelu');
    expect(text).toContain("leave_out: 1, 7");
    expect(text).toContain("ln_before true, ln_after true, scaling 0.5");
    expect(text).toContain('residual_before_ln "post_add"');
    expect(text).toContain("skipped (prediction heads): head_config.json, pytorch_model_head.bin");
  });

  it("lists every file of the directory with its size on disk", () => {
    const files = filesOnDisk(model);
    expect(files.length).toBe(8); // config, vocab, tokenizer config, weights, and two files per adapter
    for (const [path, bytes] of files) {
      expect(text).toMatch(new RegExp(`^  ${path.replace(/\./g, "\\.")} +${bytes < 1024 ? `${bytes} B` : `${(bytes / 1024).toFixed(1)} KiB`}  sha256 [0-9a-f]{64}$`, "m"));
    }
  });

  it("says which converter made it, from package.json", () => {
    const pkg = JSON.parse(readFileSync(join(__dirname, "..", "..", "package.json"), "utf8")) as { version: string };
    expect(text).toContain(`converted by specter2-tfjs ${pkg.version} on 20`);
    expect(text).toContain("format specter2-tfjs-model v1, float32 weights");
  });

  it("names the backend auto would pick: the first installed in the documented order, without loading any", () => {
    const installed = AUTO_ORDER.find(([, pkg]) => {
      try {
        require.resolve(pkg);
        return true;
      } catch {
        return false;
      }
    });
    expect(text).toContain(`would pick ${installed?.[0] ?? "none"}: `);
    expect(tf.engine().backendNames()).toEqual([]);
  });

  it("--json gives the same facts, machine-readable", async () => {
    const info = JSON.parse((await runCommand(infoCommand, ["info", "--model", model, "--json"])).stdout) as ModelInfo;
    expect(info.architecture).toEqual({
      layers: 2,
      hidden: 16,
      heads: 2,
      headSize: 8,
      intermediate: 32,
      vocab: 12,
      activation: "gelu",
      maxPositions: 16,
      typeVocab: 2,
      layerNormEps: 1e-12,
    });
    expect(info.adapters.map((a) => [a.name, a.checkpointName, a.sites, a.bottleneck])).toEqual([
      ["proximity", "[HOU]", ["attention", "output"], [1, 1]],
      ["adhoc_query", "[LNS]", ["attention", "output"], [8, null]],
    ]);
    expect(info.adapters[1].config.reduction_factor).toEqual({ "0": 2, default: 4 });
    expect(Object.fromEntries(info.files.map((f) => [f.path, f.bytes]))).toEqual(Object.fromEntries(filesOnDisk(model)));
    expect(formatInfo(info)).toBe(formatInfo(describeModel(model)));
  });

  it("a directory that is not a model is a clear error", async () => {
    const empty = tempDir("info-none");
    await expect(runCommand(infoCommand, ["info", "--model", empty])).rejects.toThrow(`${join(empty, "manifest.json")}: missing`);
  });
});

describe("probeAutoBackend", () => {
  const only =
    (...installed: string[]) =>
    (pkg: string) => {
      if (installed.includes(pkg)) return `/node_modules/${pkg}/index.js`;
      throw Object.assign(new Error(`Cannot find module '${pkg}'`), { code: "MODULE_NOT_FOUND" });
    };

  it("takes the first installed package and says what it passed over and what would follow", () => {
    const probe = probeAutoBackend(only("@tensorflow/tfjs-node", "@tensorflow/tfjs-backend-cpu"));
    expect(probe.choice).toBe("node");
    expect(probe.reason).toBe(
      `node-gpu not installed (@tensorflow/tfjs-node-gpu); native not built (${nativeAddonPath()}); node installed (@tensorflow/tfjs-node); if it fails to initialise: cpu`,
    );
    expect(probe.candidates.map((c) => [c.choice, c.installed])).toEqual([
      ["node-gpu", false],
      ["native", false],
      ["node", true],
      ["wasm", false],
      ["cpu", true],
    ]);
  });

  it("says so when nothing is installed", () => {
    const probe = probeAutoBackend(only());
    expect(probe.choice).toBeNull();
    expect(probe.reason).toMatch(/^no backend package is installed: node-gpu not installed .*cpu not installed \(@tensorflow\/tfjs-backend-cpu\)$/);
  });
});

describe("where each part came from", () => {
  it("a model converted from the Hugging Face cache names each repo, the revision asked for and the commit it resolved to", async () => {
    const cache = new FakeHfCache();
    const base = cache.addWithHistory("allenai/specter2_base", SPECTER2_FIXTURE_REPOS["allenai/specter2_base"], SPECTER2_FIXTURE_REPOS["allenai/specter2_base"]);
    const proximity = cache.addWithHistory("allenai/specter2", SPECTER2_FIXTURE_REPOS["allenai/specter2"], SPECTER2_FIXTURE_REPOS["allenai/specter2"]);
    const dir = join(tempDir("info-prov"), "model");
    const local = join(__dirname, "..", "fixtures", "convert", "adapters", "ln_shared");
    await withEnv({ ...cache.env(), HF_HUB_OFFLINE: "1" }, () =>
      runCommand(convertCommand, ["convert", "--base", `allenai/specter2_base@${base.current}`, "--adapter", "proximity=allenai/specter2", "--adapter", `mine=${local}`, "--out", dir]),
    );
    const snapshot = (repo: string, commit: string) => join(cache.folder(repo), "snapshots", commit);
    const out = (await runCommand(infoCommand, ["info", "--model", dir])).stdout;
    expect(out).toContain(
      `  base converted from allenai/specter2_base at revision ${base.current} = commit ${base.current}, from the Hugging Face cache: ${snapshot("allenai/specter2_base", base.current)}\n`,
    );
    expect(out).toContain(
      `  proximity ([HOU]) from allenai/specter2 at revision main = commit ${proximity.current}, from the Hugging Face cache: ${snapshot("allenai/specter2", proximity.current)}\n`,
    );
    expect(out).toContain(`  mine ([LNS]) from ${local} (a local folder)\n`);

    const info = JSON.parse((await runCommand(infoCommand, ["info", "--model", dir, "--json"])).stdout) as ModelInfo;
    expect(info.base).toMatchObject({ origin: "cache", repo: "allenai/specter2_base", revision: base.current, commit: base.current });
    expect(info.adapters.map((a) => [a.name, a.origin, a.repo, a.revision, a.commit])).toEqual([
      ["proximity", "cache", "allenai/specter2", "main", proximity.current],
      ["mine", "folder", undefined, undefined, undefined],
    ]);

    // After an adapter is removed in place, info says when; the others keep their provenance.
    await runCommand(convertCommand, ["convert", "--into", dir, "--remove-adapter", "mine"]);
    const after = (await runCommand(infoCommand, ["info", "--model", dir])).stdout;
    expect(after).toMatch(/converted by specter2-tfjs \S+ on \S+, adapters changed on 20/);
    expect(after).toContain(`  proximity ([HOU]) from allenai/specter2 at revision main = commit ${proximity.current}`);
  });

  it("a directory from before provenance was recorded is still read, its sources shown as paths", () => {
    const dir = join(tempDir("info-old"), "model");
    cpSync(model, dir, { recursive: true });
    const manifestPath = join(dir, "manifest.json");
    const manifest = JSON.parse(readFileSync(manifestPath, "utf8")) as Manifest;
    const strip = <T extends object>(entry: T): T => Object.fromEntries(Object.entries(entry).filter(([k]) => !["origin", "repo", "requestedRepo", "revision", "commit"].includes(k))) as T;
    writeFileSync(manifestPath, JSON.stringify({ ...manifest, base: strip(manifest.base), adapters: Object.fromEntries(Object.entries(manifest.adapters).map(([n, a]) => [n, strip(a)])) }));
    const info = describeModel(dir);
    expect(info.base.origin).toBeUndefined();
    expect(formatInfo(info)).toContain(`  base converted from ${manifest.base.source}\n`);
    expect(formatInfo(info)).toContain(`  proximity ([HOU]) from ${manifest.adapters.proximity.source}\n`);
  });

  it("words for each origin, and for a renamed repo", () => {
    expect(describeProvenance("/d", { origin: "download", repo: "allenai/specter2", requestedRepo: "allenai/spp_proximity", revision: "main", commit: "c".repeat(40) })).toBe(
      `allenai/specter2 (asked for as allenai/spp_proximity, the Hub's old name) at revision main = commit ${"c".repeat(40)}, downloaded: /d`,
    );
    expect(describeProvenance("/h/models--a--b/snapshots/x", { origin: "folder", repo: "a/b", commit: "x" })).toBe(
      "/h/models--a--b/snapshots/x (a local folder: a snapshot of a/b at commit x)",
    );
    expect(describeProvenance("/d", {})).toBe("/d");
  });
});
