// `specter2 download` through yargs and its handler, against the fake Hub (HF_ENDPOINT): download, then
// conversion into <out>/model with the exact PyTorch values; a rerun skips everything; HF_TOKEN is used.
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import yargs from "yargs";
import { downloadCommand } from "../../src/cli/commands/download";
import type { Manifest } from "../../src/weights/modelDir";
import { readSafetensors } from "../../src/weights/safetensors";
import { expectSameTensors, readExpected } from "../helpers/convert";
import { FakeHub, SPECTER2_FIXTURE_REPOS } from "../helpers/fakeHub";

/** Runs the download command alone with HF_ENDPOINT/HF_TOKEN set as given; resolves to stdout and stderr. */
async function run(args: string[], env: { HF_ENDPOINT?: string; HF_TOKEN?: string }): Promise<{ stdout: string; stderr: string }> {
  const saved = { HF_ENDPOINT: process.env.HF_ENDPOINT, HF_TOKEN: process.env.HF_TOKEN };
  const output = { stdout: "", stderr: "" };
  const capture = (stream: "stdout" | "stderr") =>
    jest.spyOn(process[stream], "write").mockImplementation((chunk: string | Uint8Array) => {
      output[stream] += chunk.toString();
      return true;
    });
  const spies = [capture("stdout"), capture("stderr")];
  setEnv(env);
  try {
    await yargs(args)
      .command(downloadCommand)
      .strict()
      .fail((message, error) => {
        throw error ?? new Error(message);
      })
      .parseAsync();
  } finally {
    setEnv(saved);
    for (const spy of spies) spy.mockRestore();
  }
  return output;
}

function setEnv(env: { HF_ENDPOINT?: string; HF_TOKEN?: string }): void {
  for (const key of ["HF_ENDPOINT", "HF_TOKEN"] as const) {
    if (env[key] === undefined) delete process.env[key];
    else process.env[key] = env[key];
  }
}

let hub: FakeHub;
afterEach(async () => {
  await hub?.close();
});

describe("specter2 download", () => {
  it("downloads, converts into <out>/model, and says what it did; a rerun fetches nothing", async () => {
    hub = await FakeHub.start({ repos: SPECTER2_FIXTURE_REPOS });
    const out = join(mkdtempSync(join(tmpdir(), "download-cli-")), "specter2");
    const model = join(out, "model");
    const { stdout, stderr } = await run(["download", "--out", out, "--adapters", "proximity,adhoc_query", "--adapters", "regression"], { HF_ENDPOINT: hub.endpoint });

    const manifest = JSON.parse(readFileSync(join(model, "manifest.json"), "utf8")) as Manifest;
    expect(Object.keys(manifest.adapters)).toEqual(["proximity", "adhoc_query", "regression"]);
    expect(manifest.dtype).toBe("float32");
    expect(manifest.base.source).toBe(join(out, "hub", "allenai--specter2_base"));
    expect(manifest.adapters.adhoc_query.skipped).toEqual([]); // the heads were not downloaded
    expectSameTensors(readSafetensors(join(model, "model.safetensors")).tensors, readExpected("bin_prefixed_f32"));
    expectSameTensors(readSafetensors(join(model, "adapters", "proximity.safetensors")).tensors, readExpected("adapter_houlsby_preset_f32"));
    expectSameTensors(readSafetensors(join(model, "adapters", "adhoc_query.safetensors")).tensors, readExpected("adapter_ln_shared"));
    expect(existsSync(join(out, "hub", "allenai--specter2_classification"))).toBe(false);

    expect(stdout).toContain("Hub files (revision main):\n  allenai/specter2_base (commit ");
    expect(stdout).toContain("11 files: 11 downloaded, 0 resumed, 0 already complete; 4 checked against the Hub's sha256\n");
    expect(stdout).toContain(`converted model (float32, adapters: proximity, adhoc_query, regression): ${model}\n`);
    expect(stdout).toContain("default adapter: proximity\n");
    expect(JSON.parse(readFileSync(join(model, "manifest.json"), "utf8")).default_adapter).toBe("proximity");
    expect(stdout).toContain(`embed with: specter2 embed --model ${model} --input papers.jsonl --output embeddings.jsonl\n`);
    expect(stderr).toMatch(/^allenai\/specter2_regression\/pytorch_adapter\.bin: .* sha256 verified$/m);

    hub.requests.length = 0;
    const again = await run(["download", "--out", out, "--adapters", "proximity", "adhoc_query", "regression", "--dtype", "float16"], { HF_ENDPOINT: hub.endpoint });
    expect(hub.requests.map((r) => r.file)).toEqual(["allenai/specter2_base/tokenizer.json"]);
    expect(again.stdout).toContain("11 files: 0 downloaded, 0 resumed, 11 already complete");
    expectSameTensors(readSafetensors(join(model, "model.safetensors")).tensors, readExpected("bin_prefixed_f16"));
  });

  it("sends HF_TOKEN to the Hub, and without it says to set it", async () => {
    hub = await FakeHub.start({ repos: SPECTER2_FIXTURE_REPOS, token: "hf_secret" });
    const out = mkdtempSync(join(tmpdir(), "download-cli-"));
    await expect(run(["download", "--out", out], { HF_ENDPOINT: hub.endpoint })).rejects.toThrow(
      /HTTP 401, not authorized to read allenai\/specter2_base; if the repo is private or gated, set HF_TOKEN/,
    );
    await run(["download", "--out", out, "--adapters", "proximity"], { HF_ENDPOINT: hub.endpoint, HF_TOKEN: "hf_secret" });
    expect(existsSync(join(out, "model", "manifest.json"))).toBe(true);
    expect(hub.requests.filter((r) => r.on === "cdn").every((r) => r.authorization === undefined)).toBe(true);
  });

  it("refuses an HF_ENDPOINT that is not an http(s) URL and an unknown adapter, before any download", async () => {
    hub = await FakeHub.start({ repos: SPECTER2_FIXTURE_REPOS });
    const out = mkdtempSync(join(tmpdir(), "download-cli-"));
    await expect(run(["download", "--out", out], { HF_ENDPOINT: "ftp://example.invalid" })).rejects.toThrow("HF_ENDPOINT ftp://example.invalid is not an http(s) URL");
    await expect(run(["download", "--out", out], { HF_ENDPOINT: "not a url" })).rejects.toThrow('HF_ENDPOINT "not a url" is not a URL');
    await expect(run(["download", "--out", out, "--adapters", "proximity,prox"], { HF_ENDPOINT: hub.endpoint })).rejects.toThrow('unknown adapter "prox"');
    expect(hub.requests).toEqual([]);
  });

  it("documents the defaults: ./specter2, revision main, all four adapters", async () => {
    let help = "";
    await yargs()
      .command(downloadCommand)
      .exitProcess(false)
      .parseAsync(["download", "--help"], {}, (_e, _argv, output) => {
        help = output;
      });
    expect(help).toMatch(/--out .*\[default: "\.\/specter2"\]/s);
    expect(help).toMatch(/--revision .*\[default: "main"\]/s);
    expect(help).toMatch(/--adapters .*\[default: \["proximity","adhoc_query","classification","regression"\]\]/s);
  });
});
