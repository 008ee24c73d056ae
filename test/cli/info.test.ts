// `specter2 info` on a model converted from the PyTorch-made fixtures: the values printed are those of the
// fixture's Hub files (config.json, adapter_config.json) and of the files on disk, and nothing is loaded.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { nativeAddonPath } from "../../src/backend/native/addon";
import { probeAutoBackend } from "../../src/backend/probe";
import { infoCommand } from "../../src/cli/commands/info";
import type { ModelInfo } from "../../src/modelInfo";
import { describeModel, formatInfo } from "../../src/modelInfo";
import { convertFixtureModel, runCommand, tempDir } from "../helpers/search";

/** auto's documented order of preference (issue 5, "Backends"). */
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
