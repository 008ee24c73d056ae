// `specter2 download` through yargs and its handler, against the fake Hub (HF_ENDPOINT): download, then
// conversion into <out>/model with the exact PyTorch values; a rerun skips everything; HF_TOKEN is used.
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import yargs from "yargs";
import { downloadCommand } from "../../src/cli/commands/download";
import { FIRST_RELEASE_NAMES } from "../../src/weights/hub/repos";
import type { Manifest } from "../../src/weights/modelDir";
import { readSafetensors } from "../../src/node/modelDirectory";
import { expectSameTensors, readExpected } from "../helpers/convert";
import { ALL_FIXTURE_REPOS, AUG2023_FIXTURE_REPOS, FAKE_COMMIT, FakeHub, FIRST_RELEASE_RENAMES, SPECTER2_FIXTURE_REPOS, USER_ADAPTER_REPO } from "../helpers/fakeHub";
import { FakeHfCache, withEnv } from "../helpers/hfCache";

type Env = { HF_ENDPOINT?: string; HF_TOKEN?: string; HF_HUB_OFFLINE?: string; cache?: FakeHfCache };

/**
 * Runs the download command alone with HF_ENDPOINT/HF_TOKEN/HF_HUB_OFFLINE set as given (others unset) and HF_HOME
 * at `cache` (default: a new empty one); resolves to stdout and stderr.
 */
async function run(args: string[], env: Env): Promise<{ stdout: string; stderr: string }> {
  const { cache = new FakeHfCache(), ...vars } = env;
  return withEnv({ HF_ENDPOINT: undefined, HF_TOKEN: undefined, HF_HUB_OFFLINE: undefined, ...cache.env(), ...vars }, () => runCommand(args));
}

async function runCommand(args: string[]): Promise<{ stdout: string; stderr: string }> {
  const output = { stdout: "", stderr: "" };
  const capture = (stream: "stdout" | "stderr") =>
    jest.spyOn(process[stream], "write").mockImplementation((chunk: string | Uint8Array) => {
      output[stream] += chunk.toString();
      return true;
    });
  const spies = [capture("stdout"), capture("stderr")];
  try {
    await yargs(args)
      .command(downloadCommand)
      .strict()
      .fail((message, error) => {
        throw error ?? new Error(message);
      })
      .parseAsync();
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
  return output;
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
    expect(stdout).toContain("11 files: 11 downloaded, 0 resumed, 0 already complete; 11 verified against the Hub's hashes (4 sha256, 7 git sha1)\n");
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

  it("from a mirror that drops X-Linked-Etag: weights said to be NOT verified; with --require-sha256, HUB_ERROR (exit 6) naming the URL, nothing converted", async () => {
    hub = await FakeHub.start({ repos: SPECTER2_FIXTURE_REPOS });
    hub.dropLinkedHeaders = true;
    const out = join(mkdtempSync(join(tmpdir(), "download-cli-")), "specter2");
    const loose = await run(["download", "--out", out, "--adapters", "proximity"], { HF_ENDPOINT: hub.endpoint });
    expect(loose.stdout).toContain(
      "7 files: 7 downloaded, 0 resumed, 0 already complete; 5 verified against the Hub's hashes (0 sha256, 5 git sha1), 2 NOT verified (the Hub gave no hash for them)\n",
    );
    expect(loose.stderr).toMatch(/^allenai\/specter2_base\/pytorch_model\.bin: 35\.6 kB in .*, not verified \(the Hub gave no LFS sha256 for this weights file\)$/m);
    expect(`${loose.stdout}${loose.stderr}`).not.toContain("checked (");

    const strict = join(mkdtempSync(join(tmpdir(), "download-cli-")), "specter2");
    const error = await run(["download", "--out", strict, "--adapters", "proximity", "--require-sha256"], { HF_ENDPOINT: hub.endpoint }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "HUB_ERROR", url: expect.stringMatching(/^http:\/\/localhost:\d+\/cdn\/[0-9a-f]{64}$/) });
    expect((error as Error).message).toMatch(
      /^allenai\/specter2_base\/pytorch_model\.bin: the Hub gave no LFS sha256 \(X-Linked-Etag\) to verify it against, and --require-sha256 asks for one/,
    );
    expect(existsSync(join(strict, "model"))).toBe(false);
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

function readManifest(model: string): Manifest {
  return JSON.parse(readFileSync(join(model, "manifest.json"), "utf8")) as Manifest;
}

const ORIGINAL = ["allenai/specter2_base", "allenai/specter2", "allenai/specter2_adhoc_query", "allenai/specter2_classification", "allenai/specter2_regression"];

describe("variants, old names, your own adapters", () => {
  it.each([
    ["original", ORIGINAL],
    ["aug2023refresh", Object.keys(AUG2023_FIXTURE_REPOS)],
  ])("--variant %s fetches that variant's base and four adapters, and the manifest says which", async (variant, repos) => {
    hub = await FakeHub.start({ repos: ALL_FIXTURE_REPOS });
    const out = mkdtempSync(join(tmpdir(), "download-variant-"));
    const { stdout } = await run(["download", "--out", out, "--variant", variant], { HF_ENDPOINT: hub.endpoint });
    expect(hub.reposAsked()).toEqual(repos);
    const manifest = readManifest(join(out, "model"));
    expect(Object.keys(manifest.adapters)).toEqual(["proximity", "adhoc_query", "classification", "regression"]);
    expect(manifest.base).toMatchObject({ origin: "download", repo: repos[0], revision: "main", commit: FAKE_COMMIT, source: join(out, "hub", repos[0].replace("/", "--")) });
    expect(Object.values(manifest.adapters).map((a) => [a.origin, a.repo, a.revision, a.commit])).toEqual(repos.slice(1).map((r) => ["download", r, "main", FAKE_COMMIT]));
    if (variant === "aug2023refresh") {
      // Its own fixtures (test/helpers/fakeHub.ts): the bf16 base without tokenizer files, the adapters swapped.
      expectSameTensors(readSafetensors(join(out, "model", "model.safetensors")).tensors, readExpected("bin_bf16_f32"));
      expectSameTensors(readSafetensors(join(out, "model", "adapters", "proximity.safetensors")).tensors, readExpected("adapter_ln_shared"));
      expect(stdout).toMatch(/tokenizer_config\.json +- +absent +optional, not in the repo/);
    }
  });

  it("an unknown variant is refused before any request", async () => {
    hub = await FakeHub.start({ repos: ALL_FIXTURE_REPOS });
    await expect(run(["download", "--out", mkdtempSync(join(tmpdir(), "dl-")), "--variant", "2024"], { HF_ENDPOINT: hub.endpoint })).rejects.toThrow(
      /Invalid values:\n {2}Argument: variant, Given: "2024", Choices: "original", "aug2023refresh"/,
    );
    expect(hub.requestCount).toBe(0);
  });

  it("the first release's names are followed through the Hub's redirects, and the summary and manifest say what they became", async () => {
    expect(Object.keys(FIRST_RELEASE_RENAMES)).toEqual(Object.keys(FIRST_RELEASE_NAMES));
    hub = await FakeHub.start({ repos: SPECTER2_FIXTURE_REPOS, renamed: FIRST_RELEASE_RENAMES });
    const out = mkdtempSync(join(tmpdir(), "download-renamed-"));
    const args = [
      "download",
      "--out",
      out,
      "--base",
      "allenai/specter_plus_plus",
      "--adapters",
      "none",
      "--adapter",
      "proximity=allenai/spp_proximity",
      "--adapter",
      "allenai/spp_regression",
    ];
    const { stdout } = await run(args, { HF_ENDPOINT: hub.endpoint });
    expect(stdout).toContain(`  allenai/specter_plus_plus (now allenai/specter2_base) (commit ${FAKE_COMMIT}) → ${join(out, "hub", "allenai--specter_plus_plus")}\n`);
    expect(stdout).toContain("allenai/specter_plus_plus is an old name: the Hub redirected it to allenai/specter2_base\n");
    expect(stdout).toContain("allenai/spp_proximity is an old name: the Hub redirected it to allenai/specter2\n");
    expect(stdout).toContain("allenai/spp_regression is an old name: the Hub redirected it to allenai/specter2_regression\n");
    const manifest = readManifest(join(out, "model"));
    expect(manifest.base).toMatchObject({ origin: "download", repo: "allenai/specter2_base", requestedRepo: "allenai/specter_plus_plus", revision: "main", commit: FAKE_COMMIT });
    expect(Object.keys(manifest.adapters)).toEqual(["proximity", "spp_regression"]);
    expect(manifest.adapters.proximity).toMatchObject({ repo: "allenai/specter2", requestedRepo: "allenai/spp_proximity" });
    expectSameTensors(readSafetensors(join(out, "model", "adapters", "proximity.safetensors")).tensors, readExpected("adapter_houlsby_preset_f32"));

    // A rerun skips every file, and still knows what the old names became (from its download records).
    hub.requests.length = 0;
    const again = await run(args, { HF_ENDPOINT: hub.endpoint });
    expect(hub.requests.map((r) => r.file)).toEqual(["allenai/specter_plus_plus/tokenizer.json", "allenai/specter2_base/tokenizer.json"]);
    expect(again.stdout).toContain("allenai/spp_proximity is an old name: the Hub redirected it to allenai/specter2\n");
    expect(readManifest(join(out, "model")).adapters.proximity.requestedRepo).toBe("allenai/spp_proximity");
  });

  it("your own adapter, from a Hub repo (adapter.safetensors) or a folder, next to SPECTER2's; @REV per repo", async () => {
    hub = await FakeHub.start({ repos: ALL_FIXTURE_REPOS });
    const out = mkdtempSync(join(tmpdir(), "download-user-"));
    const folder = join(__dirname, "..", "fixtures", "convert", "adapters", "ln_shared");
    const { stdout } = await run(
      ["download", "--out", out, "--adapters", "proximity", "--adapter", `my_task=${USER_ADAPTER_REPO}@main`, "--adapter", USER_ADAPTER_REPO, "--adapter", `local=${folder}`],
      { HF_ENDPOINT: hub.endpoint },
    );
    // No pytorch_adapter.bin in the repo: adapter.safetensors is asked for next.
    expect(hub.requests.filter((r) => r.on === "hub" && r.file?.startsWith(USER_ADAPTER_REPO)).map((r) => r.file)).toEqual([
      `${USER_ADAPTER_REPO}/adapter_config.json`,
      `${USER_ADAPTER_REPO}/pytorch_adapter.bin`,
      `${USER_ADAPTER_REPO}/adapter.safetensors`,
      // The same repo again (as my-adapter): complete files are skipped, the absent one asked for again.
      `${USER_ADAPTER_REPO}/pytorch_adapter.bin`,
    ]);
    expect(stdout).toContain(`  ${folder} (a local folder)\n`);
    const manifest = readManifest(join(out, "model"));
    expect(Object.keys(manifest.adapters)).toEqual(["proximity", "my_task", "my-adapter", "local"]);
    expect(manifest.default_adapter).toBe("proximity");
    expect(manifest.adapters.my_task).toMatchObject({ origin: "download", repo: USER_ADAPTER_REPO, revision: "main", commit: FAKE_COMMIT });
    expect(manifest.adapters.my_task.sourceFiles.map((f) => f.path)).toEqual(["adapter_config.json", "adapter.safetensors"]);
    expect(manifest.adapters.local).toMatchObject({ origin: "folder", source: folder });
    expect(manifest.adapters.local.repo).toBeUndefined();
    expectSameTensors(readSafetensors(join(out, "model", "adapters", "my_task.safetensors")).tensors, readExpected("adapter_legacy"));
  });

  it("a repo with no weights file at all is a clear error", async () => {
    const configOnly = mkdtempSync(join(tmpdir(), "config-only-"));
    copyFileSync(join(SPECTER2_FIXTURE_REPOS["allenai/specter2"], "adapter_config.json"), join(configOnly, "adapter_config.json"));
    hub = await FakeHub.start({ repos: { ...SPECTER2_FIXTURE_REPOS, "someone/no-weights": configOnly } });
    await expect(
      run(["download", "--out", mkdtempSync(join(tmpdir(), "dl-")), "--adapters", "none", "--adapter", "someone/no-weights"], { HF_ENDPOINT: hub.endpoint }),
    ).rejects.toMatchObject({
      code: "HUB_ERROR",
      status: 404,
      message: `${hub.endpoint}/someone/no-weights/resolve/main/adapter.safetensors: HTTP 404, repo someone/no-weights has no weights file at revision main (looked for pytorch_adapter.bin, adapter.safetensors)`,
    });
  });
});

describe("the Hugging Face cache", () => {
  /** The five original repos in a fake cache, each with an older snapshot (other fixtures) and refs/main at the current one. */
  function cacheOfOriginal(options: { copies?: boolean } = {}): { cache: FakeHfCache; commits: Record<string, string> } {
    const cache = new FakeHfCache();
    const older = join(__dirname, "..", "fixtures", "convert", "adapters", "ln_shared");
    const commits: Record<string, string> = {};
    for (const repo of ORIGINAL) {
      const previous = repo === "allenai/specter2_base" ? join(__dirname, "..", "fixtures", "convert", "bin_bf16", "base") : older;
      commits[repo] = cache.addWithHistory(repo, SPECTER2_FIXTURE_REPOS[repo], previous, options).current;
    }
    return { cache, commits };
  }

  it("takes every repo from the cache, verified, without a single request to the Hub", async () => {
    hub = await FakeHub.start({ repos: SPECTER2_FIXTURE_REPOS });
    const { cache, commits } = cacheOfOriginal();
    const out = mkdtempSync(join(tmpdir(), "download-cached-"));
    const { stdout, stderr } = await run(["download", "--out", out], { HF_ENDPOINT: hub.endpoint, cache });
    expect(hub.requestCount).toBe(0);
    expect(existsSync(join(out, "hub"))).toBe(false);
    const base = join(cache.folder("allenai/specter2_base"), "snapshots", commits["allenai/specter2_base"]);
    expect(stdout).toContain(`  allenai/specter2_base (commit ${commits["allenai/specter2_base"]}) → ${base} (from the Hugging Face cache)\n`);
    expect(stdout).toMatch(/pytorch_model\.bin +35\.6 kB +cached +sha256 verified \(the blob's name\)/);
    expect(stdout).toMatch(/config\.json +385 B +cached +git-sha1 verified \(the blob's name\)/);
    expect(stdout).toContain("13 files: 0 downloaded, 0 resumed, 0 already complete; 13 from the Hugging Face cache, 13 of them checked against their blob's name\n");
    expect(stderr).toContain("allenai/specter2/pytorch_adapter.bin: 5.6 kB from the Hugging Face cache, sha256 verified (the blob's name)\n");
    const manifest = readManifest(join(out, "model"));
    expect(manifest.base).toMatchObject({ origin: "cache", repo: "allenai/specter2_base", revision: "main", commit: commits["allenai/specter2_base"], source: base });
    expect(manifest.adapters.regression).toMatchObject({ origin: "cache", repo: "allenai/specter2_regression", commit: commits["allenai/specter2_regression"] });
    expectSameTensors(readSafetensors(join(out, "model", "model.safetensors")).tensors, readExpected("bin_prefixed_f32"));

    // --offline is the same here: everything is in the cache.
    await run(["download", "--out", out, "--offline"], { HF_ENDPOINT: "not a url", cache });
    expect(hub.requestCount).toBe(0);
  });

  it("offline (--offline or HF_HUB_OFFLINE=1), what the cache lacks is named and nothing is fetched", async () => {
    hub = await FakeHub.start({ repos: SPECTER2_FIXTURE_REPOS });
    const cache = new FakeHfCache();
    cache.addWithHistory("allenai/specter2", SPECTER2_FIXTURE_REPOS["allenai/specter2"], SPECTER2_FIXTURE_REPOS["allenai/specter2"]);
    const commit = "e".repeat(40);
    cache.add({ repo: "allenai/specter2_base", snapshots: [{ commit, from: SPECTER2_FIXTURE_REPOS["allenai/specter2_base"], files: ["config.json", "vocab.txt"] }] });
    for (const env of [{ args: ["--offline"] }, { args: [], HF_HUB_OFFLINE: "1" }]) {
      const out = mkdtempSync(join(tmpdir(), "download-offline-"));
      const error = await run(["download", "--out", out, "--adapters", "proximity,regression", ...env.args], { HF_ENDPOINT: hub.endpoint, HF_HUB_OFFLINE: env.HF_HUB_OFFLINE, cache }).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(error?.message).toBe(
        `offline (--offline or HF_HUB_OFFLINE=1), and the Hugging Face cache ${cache.cache} lacks what the conversion reads:\n` +
          `  allenai/specter2_base@main: snapshot ${commit} lacks tokenizer_config.json (or the knowledge that the repo has none), special_tokens_map.json (or the knowledge that the repo has none), pytorch_model.bin or model.safetensors\n` +
          `  allenai/specter2_regression@main: not in the cache (no ${cache.folder("allenai/specter2_regression")})\n` +
          "fetch them where the Hub is reachable (e.g. `huggingface-cli download allenai/specter2_base`, or this command without --offline), or set HF_HUB_CACHE / HF_HOME to the cache that has them",
      );
      expect(existsSync(join(out, "model"))).toBe(false);
    }
    expect(hub.requestCount).toBe(0);
  });

  it("a repo the cache lacks is downloaded, the others still come from the cache", async () => {
    hub = await FakeHub.start({ repos: SPECTER2_FIXTURE_REPOS });
    const { cache } = cacheOfOriginal();
    rmSync(cache.folder("allenai/specter2_adhoc_query"), { recursive: true });
    const out = mkdtempSync(join(tmpdir(), "download-partial-"));
    await run(["download", "--out", out], { HF_ENDPOINT: hub.endpoint, cache });
    expect(hub.reposAsked()).toEqual(["allenai/specter2_adhoc_query"]);
    const manifest = readManifest(join(out, "model"));
    expect(Object.values(manifest.adapters).map((a) => a.origin)).toEqual(["cache", "download", "cache", "cache"]);
  });
});
