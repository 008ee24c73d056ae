// `specter2 convert` through yargs and the command's handler (the spawned binary is tested with the CLI).
import { cpSync, existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import yargs from "yargs";
import { convertCommand, parseAdapterArgument } from "../../src/cli/commands/convert";
import { downloadCommand } from "../../src/cli/commands/download";
import { writeRandomHubModel } from "../../convert/randomModel";
import type { BertConfig } from "../../src/model/config";
import { embedCommand } from "../../src/cli/commands/embed";
import type { Manifest } from "../../src/weights/modelDir";
import { readSafetensors } from "../../src/node/modelDirectory";
import { copyFixture, expectSameTensors, fixture, readExpected, tempDir } from "../helpers/convert";
import { ALL_FIXTURE_REPOS, FAKE_COMMIT, FakeHub, SPECTER2_FIXTURE_REPOS, USER_ADAPTER_REPO } from "../helpers/fakeHub";
import { FakeHfCache, withEnv } from "../helpers/hfCache";
import { CLI_BIN } from "../helpers/builtCli";
import { addUserFiles, makeFifo, readUserFiles, strideZeroCheckpoint, USER_FILES } from "../helpers/hostileFiles";
import { failWrites, runWithFileSizeLimit } from "../helpers/hostileOutputs";
import type { CommandOutput } from "../helpers/search";
import { runCommand } from "../helpers/search";

/** Parses `args` with the convert command alone; resolves to stdout, rejects with yargs' or the handler's error. */
async function run(args: string[]): Promise<string> {
  let stdout = "";
  const write = jest.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    stdout += chunk.toString();
    return true;
  });
  try {
    await yargs(args)
      .command(convertCommand)
      .strict()
      .fail((message, error) => {
        throw error ?? new Error(message);
      })
      .parseAsync();
  } finally {
    write.mockRestore();
  }
  return stdout;
}

describe("parseAdapterArgument", () => {
  it.each([
    ["proximity=/hub/specter2", { name: "proximity", dir: "/hub/specter2" }],
    ["/hub/specter2_adhoc_query", { dir: "/hub/specter2_adhoc_query" }],
    ["q=/dirs/a=b", { name: "q", dir: "/dirs/a=b" }],
    ["=/hub/x", { name: "", dir: "/hub/x" }],
  ])("%s", (arg, expected) => {
    expect(parseAdapterArgument(arg)).toEqual(expected);
  });

  it("refuses NAME= without a directory", () => {
    expect(() => parseAdapterArgument("proximity=")).toThrow('--adapter proximity=: no folder or Hub repository after "="');
  });
});

describe("specter2 convert", () => {
  it("converts a base and adapters named and unnamed, as float16, and reports what it wrote", async () => {
    const out = join(tempDir("cli"), "model");
    const stdout = await run([
      "convert",
      "--base",
      fixture("bin_prefixed", "base"),
      "--adapter",
      `lns=${fixture("adapters", "ln_shared")}`,
      "--adapter",
      fixture("adapters", "legacy_gelu"),
      "--out",
      out,
      "--dtype",
      "float16",
    ]);
    const manifest = JSON.parse(readFileSync(join(out, "manifest.json"), "utf8")) as Manifest;
    expect(manifest.dtype).toBe("float16");
    expect(Object.keys(manifest.adapters)).toEqual(["lns", "legacy_gelu"]);
    expectSameTensors(readSafetensors(join(out, "model.safetensors")).tensors, readExpected("bin_prefixed_f16"));
    expect(stdout).toContain(`wrote ${out} (float16)`);
    expect(stdout).toContain(`adapter lns: ${fixture("adapters", "ln_shared")}`);
    expect(stdout).toContain("skipped in lns: head_config.json, pytorch_model_head.bin");
    expect(stdout).toContain("ignored base tensors (not part of the encoder): bert.embeddings.position_ids, cls.predictions.bias");
  });

  it("defaults to float32", async () => {
    const out = join(tempDir("cli32"), "model");
    await run(["convert", "--base", fixture("safetensors_f16", "base"), "--out", out]);
    expectSameTensors(readSafetensors(join(out, "model.safetensors")).tensors, readExpected("safetensors_f16_f32"));
  });

  it.each([
    [["--out", "/tmp/x"], "Missing required argument: base"],
    [["--base", "/tmp/x"], "Missing required argument: out"],
    [["--base", "/tmp/x", "--out", "/tmp/y", "--dtype", "int4"], 'Invalid values:\n  Argument: dtype, Given: "int4", Choices: "float32", "float16", "bfloat16", "int8"'],
  ])("usage errors %j", async (args, message) => {
    await expect(run(["convert", ...args])).rejects.toThrow(message);
  });

  it("re-converting --out over a model directory keeps the files the converter did not write (NOTES.md, runs/papers.npy)", async () => {
    const out = join(tempDir("cliuser"), "model");
    await run(["convert", "--base", fixture("bin_prefixed", "base"), "--adapter", `old=${fixture("adapters", "legacy_gelu")}`, "--out", out]);
    addUserFiles(out);
    symlinkSync("NOTES.md", join(out, "notes-link.md"));
    await run(["convert", "--base", fixture("safetensors_f16", "base"), "--adapter", `lns=${fixture("adapters", "ln_shared")}`, "--out", out]);
    expect(readUserFiles(out)).toEqual(USER_FILES);
    expect(readlinkSync(join(out, "notes-link.md"))).toBe("NOTES.md");
    // The converter's own files are replaced: the old adapter's are gone, the manifest lists only what it wrote now.
    const manifest = manifestOf(out);
    expect(Object.keys(manifest.adapters)).toEqual(["lns"]);
    expect(entriesUnder(out)).toEqual([...Object.keys(manifest.files), "manifest.json", "NOTES.md", "notes-link.md", "runs/papers.npy"].sort());
    expectSameTensors(readSafetensors(join(out, "model.safetensors")).tensors, readExpected("safetensors_f16_f32"));
  });

  it("--out over a model directory holding a FIFO is refused before anything is converted, naming it", async () => {
    const out = join(tempDir("clififo"), "model");
    await run(["convert", "--base", fixture("safetensors_f16", "base"), "--out", out]);
    const before = manifestOf(out).created;
    makeFifo(join(out, "pipe"));
    await expect(run(["convert", "--base", fixture("safetensors_f16", "base"), "--out", out])).rejects.toMatchObject({
      code: "OUTPUT_ERROR",
      file: join(out, "pipe"),
      message: `--out ${out} holds ${join(out, "pipe")}, which is not a file, folder or symlink and could not be kept: move it away first`,
    });
    expect(manifestOf(out).created).toBe(before);
  });

  it("an adapter whose pytorch_adapter.bin is stride-0 views of one float is refused before any copy, naming the file and tensor", async () => {
    const adapter = copyFixture(fixture("adapters", "houlsby_preset"), "stride0");
    const tensor = "bert.encoder.layer.0.output.adapters.a.adapter_up.weight";
    writeFileSync(join(adapter, "pytorch_adapter.bin"), strideZeroCheckpoint([tensor, `${tensor}2`, `${tensor}3`], 1 << 24));
    const heapBefore = process.memoryUsage().arrayBuffers;
    const started = Date.now();
    const error = await run(["convert", "--base", fixture("bin_prefixed", "base"), "--adapter", `a=${adapter}`, "--out", join(tempDir("stride0"), "model")]).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "BAD_CHECKPOINT", file: join(adapter, "pytorch_adapter.bin"), tensor });
    expect((error as Error).message).toContain(
      `${join(adapter, "pytorch_adapter.bin")}: tensor ${tensor}: its strided view (size [16777216], stride [0]) would be copied into 67108864 bytes`,
    );
    // Nothing the size of one such tensor (64 MiB) was allocated, and the refusal came at once.
    expect(process.memoryUsage().arrayBuffers - heapBefore).toBeLessThan(16 << 20);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it("a write that fails as on a full disk is OUTPUT_ERROR naming the file (exit 7 from the built binary), and --out is left as it was", async () => {
    const out = join(tempDir("full"), "model");
    // The built binary under a file-size limit: writing model.safetensors (28 KB) fails with EFBIG.
    const limited = runWithFileSizeLimit(8, process.execPath, [CLI_BIN, "convert", "--base", fixture("safetensors_f16", "base"), "--out", out]);
    expect([limited.code, limited.stderr]).toEqual([
      7,
      expect.stringMatching(new RegExp(`^specter2: cannot write \\S*/\\.model\\.new-[0-9-]+/model\\.safetensors: EFBIG: file too large, write; nothing was written to ${out}\n$`)),
    ]);
    expect(readdirSync(dirname(out))).toEqual([]);
    // A full disk (ENOSPC) while re-converting over a model directory: it stays as it was, and no temporary folder is left.
    await run(["convert", "--base", fixture("safetensors_f16", "base"), "--out", out]);
    const before = manifestOf(out).created;
    const restore = failWrites((path) => path.endsWith("/model.safetensors"));
    try {
      await expect(run(["convert", "--base", fixture("bin_prefixed", "base"), "--out", out])).rejects.toMatchObject({
        code: "OUTPUT_ERROR",
        file: expect.stringMatching(/\/\.model\.new-[0-9-]+\/model\.safetensors$/),
        message: expect.stringMatching(new RegExp(`^cannot write \\S+/model\\.safetensors: ENOSPC: simulated failure, write '\\S+'; ${out} is left as it was$`)),
      });
    } finally {
      restore();
    }
    expect(manifestOf(out).created).toBe(before);
    expect(readdirSync(dirname(out))).toEqual(["model"]);
  });

  it("passes the converter's errors through", async () => {
    const out = join(tempDir("clibad"), "model");
    await expect(run(["convert", "--base", fixture("safetensors_f16", "base"), "--adapter", "bad/name=/x", "--out", out])).rejects.toThrow('adapter name "bad/name" is not a safe file name');
  });
});

// --- Hub references: the Hugging Face cache (test/helpers/hfCache.ts) and the fake Hub ---

const BASE_REPO = "allenai/specter2_base";
const PROXIMITY_REPO = "allenai/specter2";

/** Runs convert with HF_HOME at `cache` and HF_ENDPOINT at `endpoint` (others unset); stdout and stderr. */
async function runWith(args: string[], cache: FakeHfCache, env: Record<string, string | undefined> = {}): Promise<CommandOutput> {
  return withEnv({ HF_ENDPOINT: undefined, HF_TOKEN: undefined, ...cache.env(), ...env }, () => runCommand(convertCommand, args));
}

/** Every file and symlink under dir, relative, with forward slashes, sorted. */
function entriesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((f) => !lstatSync(join(dir, f)).isDirectory())
    .map((f) => f.split("\\").join("/"))
    .sort();
}

function manifestOf(dir: string): Manifest {
  return JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as Manifest;
}

/** A cache as Python left it after loading SPECTER2's base and proximity adapter: two snapshots each, refs/main at the newer. */
function pythonCache(options: { copies?: boolean } = {}): { cache: FakeHfCache; base: { current: string; older: string }; proximity: { current: string; older: string } } {
  const cache = new FakeHfCache();
  const base = cache.addWithHistory(BASE_REPO, SPECTER2_FIXTURE_REPOS[BASE_REPO], fixture("bin_bf16", "base"), { ...options, noExist: ["tokenizer_config.json", "special_tokens_map.json"] });
  const proximity = cache.addWithHistory(PROXIMITY_REPO, SPECTER2_FIXTURE_REPOS[PROXIMITY_REPO], fixture("adapters", "ln_shared"), options);
  return { cache, base, proximity };
}

let hub: FakeHub | undefined;
afterEach(async () => {
  await hub?.close();
  hub = undefined;
});

describe("specter2 convert from Hub references", () => {
  it("with SPECTER2 in the Hugging Face cache and no network, makes the directory a download makes (same weights digests)", async () => {
    hub = await FakeHub.start({ repos: SPECTER2_FIXTURE_REPOS });
    // What `specter2 download` makes, from the Hub (an empty cache).
    const downloaded = join(tempDir("dl"), "specter2");
    await withEnv({ ...new FakeHfCache().env(), HF_ENDPOINT: hub.endpoint }, () => runCommand(downloadCommand, ["download", "--out", downloaded, "--adapters", "proximity"]));
    const fromDownload = manifestOf(join(downloaded, "model"));

    // The same from the cache alone: the fake Hub sees no request.
    const { cache, base, proximity } = pythonCache();
    hub.requests.length = 0;
    const out = join(tempDir("cached"), "m");
    const { stdout } = await runWith(["convert", "--base", BASE_REPO, "--adapter", `proximity=${PROXIMITY_REPO}`, "--out", out], cache, { HF_ENDPOINT: hub.endpoint });
    expect(hub.requestCount).toBe(0);
    const fromCache = manifestOf(out);
    expect(fromCache.files).toEqual(fromDownload.files);
    expect(fromCache.base.files).toEqual(fromDownload.base.files);
    expect(fromCache.adapters.proximity.sourceFiles).toEqual(fromDownload.adapters.proximity.sourceFiles);
    expect(fromCache.default_adapter).toBe(fromDownload.default_adapter);
    for (const file of Object.keys(fromCache.files)) expect(readFileSync(join(out, file))).toEqual(readFileSync(join(downloaded, "model", file)));

    // Where each part came from: the cache's snapshot that refs/main names.
    const snapshot = (repo: string, commit: string) => join(cache.folder(repo), "snapshots", commit);
    expect(fromCache.base).toMatchObject({ origin: "cache", repo: BASE_REPO, revision: "main", commit: base.current, source: snapshot(BASE_REPO, base.current) });
    expect(fromCache.adapters.proximity).toMatchObject({ origin: "cache", repo: PROXIMITY_REPO, revision: "main", commit: proximity.current });
    expect(fromDownload.base).toMatchObject({ origin: "download", repo: BASE_REPO, revision: "main", commit: FAKE_COMMIT });
    expect(stdout).toContain(`  base: ${BASE_REPO} at revision main = commit ${base.current}, from the Hugging Face cache: ${snapshot(BASE_REPO, base.current)}\n`);
  });

  it("REPO@REV takes that revision's snapshot; an unnamed Hub adapter is named after its repo", async () => {
    const { cache, base, proximity } = pythonCache();
    const out = join(tempDir("older"), "m");
    await runWith(["convert", "--base", `${BASE_REPO}@${base.older}`, "--adapter", `${PROXIMITY_REPO}@${proximity.older}`, "--out", out, "--offline"], cache);
    const m = manifestOf(out);
    expect(m.base).toMatchObject({ origin: "cache", revision: base.older, commit: base.older });
    expect(Object.keys(m.adapters)).toEqual(["specter2"]);
    expectSameTensors(readSafetensors(join(out, "model.safetensors")).tensors, readExpected("bin_bf16_f32"));
    expectSameTensors(readSafetensors(join(out, "adapters", "specter2.safetensors")).tensors, readExpected("adapter_ln_shared"));
  });

  it("offline (HF_HUB_OFFLINE=1 or --offline), a cache miss names the missing repos and files", async () => {
    const { cache, base } = pythonCache();
    rmSync(join(cache.folder(BASE_REPO), "snapshots", base.current, "vocab.txt"));
    const out = join(tempDir("miss"), "m");
    for (const [extra, env] of [
      [[], { HF_HUB_OFFLINE: "1" }],
      [["--offline"], {}],
    ] as const) {
      await expect(runWith(["convert", "--base", BASE_REPO, "--adapter", "q=allenai/specter2_adhoc_query", "--out", out, ...extra], cache, env)).rejects.toMatchObject({
        code: "MODEL_NOT_FOUND",
        message: expect.stringContaining(
          `  ${BASE_REPO}@main: snapshot ${base.current} lacks vocab.txt\n  allenai/specter2_adhoc_query@main: not in the cache (no ${cache.folder("allenai/specter2_adhoc_query")})\n`,
        ),
      });
    }
    expect(existsSync(out)).toBe(false);
  });

  it("a corrupted blob is refused by its hash, and nothing is written", async () => {
    const { cache, proximity } = pythonCache();
    const blob = cache.blobOf(PROXIMITY_REPO, proximity.current, "pytorch_adapter.bin");
    cache.corrupt(blob);
    const out = join(tempDir("corrupt"), "m");
    await expect(runWith(["convert", "--base", BASE_REPO, "--adapter", `proximity=${PROXIMITY_REPO}`, "--out", out, "--offline"], cache)).rejects.toMatchObject({
      code: "BAD_CHECKPOINT",
      file: blob,
      message: expect.stringMatching(new RegExp(`^allenai/specter2/pytorch_adapter\\.bin in the Hugging Face cache is corrupt: its blob ${blob} has sha256 [0-9a-f]{64}, its name says`)),
    });
    expect(existsSync(out)).toBe(false);
  });

  it("Windows-style copies instead of links are converted, and said to be unverified", async () => {
    const { cache } = pythonCache({ copies: true });
    const out = join(tempDir("copies"), "m");
    const { stderr } = await runWith(["convert", "--base", BASE_REPO, "--adapter", `proximity=${PROXIMITY_REPO}`, "--out", out, "--offline"], cache);
    expect(stderr).toContain("allenai/specter2/pytorch_adapter.bin: 5.6 kB from the Hugging Face cache, not verified (a copy, not a link to a named blob)\n");
    expectSameTensors(readSafetensors(join(out, "model.safetensors")).tensors, readExpected("bin_prefixed_f32"));
  });

  it("a repo the cache lacks is fetched into the cache, so the next run needs no network", async () => {
    hub = await FakeHub.start({ repos: ALL_FIXTURE_REPOS });
    const cache = new FakeHfCache();
    const out = join(tempDir("fetch"), "m");
    const first = await runWith(["convert", "--base", BASE_REPO, "--adapter", `mine=${USER_ADAPTER_REPO}`, "--out", out], cache, { HF_ENDPOINT: hub.endpoint });
    expect(hub.reposAsked()).toEqual([BASE_REPO, USER_ADAPTER_REPO]);
    expect(manifestOf(out).adapters.mine).toMatchObject({
      origin: "download",
      repo: USER_ADAPTER_REPO,
      commit: FAKE_COMMIT,
      source: join(cache.folder(USER_ADAPTER_REPO), "snapshots", FAKE_COMMIT),
    });
    expect(first.stderr).toMatch(/^someone\/my-adapter\/adapter\.safetensors: .* sha256 verified$/m);
    hub.requests.length = 0;
    await runWith(["convert", "--base", BASE_REPO, "--adapter", `mine=${USER_ADAPTER_REPO}`, "--out", out, "--offline"], cache);
    expect(hub.requestCount).toBe(0);
    expect(manifestOf(out).adapters.mine).toMatchObject({ origin: "cache", repo: USER_ADAPTER_REPO, commit: FAKE_COMMIT });
    expectSameTensors(readSafetensors(join(out, "adapters", "mine.safetensors")).tensors, readExpected("adapter_legacy"));
  });

  it("with no network and no --offline, the connection error says the cache lacks the repo", async () => {
    const server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const cache = new FakeHfCache();
    await expect(runWith(["convert", "--base", BASE_REPO, "--out", join(tempDir("down"), "m")], cache, { HF_ENDPOINT: endpoint })).rejects.toMatchObject({
      code: "HUB_ERROR",
      message: expect.stringMatching(
        new RegExp(`ECONNREFUSED .*\\n\\(allenai/specter2_base@main is not in the Hugging Face cache ${cache.cache}: not in the cache \\(no .*\\); --offline lists all it lacks\\)$`),
      ),
    });
  });

  it("an existing path is a folder even where it reads as owner/name", async () => {
    const root = tempDir("relative");
    cpSync(fixture("bin_prefixed", "base"), join(root, "allenai", "specter2_base"), { recursive: true });
    const cwd = process.cwd();
    process.chdir(root);
    try {
      await runWith(["convert", "--base", BASE_REPO, "--out", join(root, "m"), "--offline"], new FakeHfCache());
    } finally {
      process.chdir(cwd);
    }
    expect(manifestOf(join(root, "m")).base).toMatchObject({ origin: "folder", source: join(root, "allenai", "specter2_base") });
  });
});

describe("specter2 convert --into: adapters added and removed in place", () => {
  async function embedVerified(model: string, adapter: string): Promise<string> {
    const dir = tempDir("embed");
    writeFileSync(join(dir, "in.jsonl"), `${JSON.stringify({ paper_id: "p1", title: "a title", abstract: "an abstract" })}\n`);
    const out = join(dir, "out.jsonl");
    await runCommand(embedCommand, ["embed", "--model", model, "--adapter", adapter, "--input", join(dir, "in.jsonl"), "--output", out, "--verify", "--backend", "cpu", "--workers", "0"]);
    return readFileSync(out, "utf8");
  }

  it("adds an adapter without converting the base again, removes one (the default: the next becomes it), and --verify passes", async () => {
    const model = join(tempDir("into"), "model");
    await run([
      "convert",
      "--base",
      fixture("bin_prefixed", "base"),
      "--adapter",
      `proximity=${fixture("adapters", "houlsby_preset")}`,
      "--adapter",
      `lns=${fixture("adapters", "ln_shared")}`,
      "--out",
      model,
    ]);
    const before = manifestOf(model);
    const baseInode = statSync(join(model, "model.safetensors")).ino;

    const added = await run(["convert", "--into", model, "--adapter", `my_task=${fixture("adapters", "legacy_gelu")}`]);
    expect(added).toContain(
      `updated ${model} (float32)\n  added adapter my_task: ${fixture("adapters", "legacy_gelu")} (a local folder)\n  adapters: proximity, lns, my_task\n  default adapter: proximity\n`,
    );
    const m1 = manifestOf(model);
    expect(Object.keys(m1.adapters)).toEqual(["proximity", "lns", "my_task"]);
    expect(m1.default_adapter).toBe("proximity");
    expect(m1.base).toEqual(before.base);
    expect(m1.created).toBe(before.created);
    expect(Date.parse(m1.updated!)).toBeGreaterThanOrEqual(Date.parse(before.created));
    for (const [path, digest] of Object.entries(before.files)) expect(m1.files[path]).toEqual(digest);
    expect(Object.keys(m1.files).filter((f) => !(f in before.files))).toEqual(["adapters/my_task.json", "adapters/my_task.safetensors"]);
    expect(statSync(join(model, "model.safetensors")).ino).toBe(baseInode); // linked, not rewritten
    expectSameTensors(readSafetensors(join(model, "adapters", "my_task.safetensors")).tensors, readExpected("adapter_legacy"));
    expect(await embedVerified(model, "my_task")).toMatch(/^\{"paper_id":"p1","embedding":\[/);

    const removed = await run(["convert", "--into", model, "--remove-adapter", "proximity"]);
    expect(removed).toContain('  note: the default adapter "proximity" was removed: the default is now "lns", the first remaining\n');
    const m2 = manifestOf(model);
    expect(Object.keys(m2.adapters)).toEqual(["lns", "my_task"]);
    expect(m2.default_adapter).toBe("lns");
    expect(Object.keys(m2.files).some((f) => f.includes("proximity"))).toBe(false);
    expect(existsSync(join(model, "adapters", "proximity.safetensors"))).toBe(false);
    expect(readdirSync(join(model, ".."))).toEqual(["model"]); // no staging or old directory left behind
    expect(await embedVerified(model, "lns")).toMatch(/"embedding":\[/);

    // Replacing one: removed and added under the same name in one command.
    await run(["convert", "--into", model, "--remove-adapter", "lns", "--adapter", `lns=${fixture("adapters", "houlsby_preset")}`, "--default-adapter", "my_task"]);
    const m3 = manifestOf(model);
    expect(Object.keys(m3.adapters)).toEqual(["my_task", "lns"]);
    expect(m3.default_adapter).toBe("my_task");
    expectSameTensors(readSafetensors(join(model, "adapters", "lns.safetensors")).tensors, readExpected("adapter_houlsby_preset_f32"));
    expect(await embedVerified(model, "lns")).toMatch(/"embedding":\[/);

    // (--verify does check: a changed adapter file fails it.)
    const weights = join(model, "adapters", "my_task.safetensors");
    const bytes = readFileSync(weights);
    bytes[bytes.length - 1] ^= 1;
    writeFileSync(weights, bytes);
    await expect(embedVerified(model, "lns")).rejects.toThrow(/failed verification/);
  });

  it("an adapter from the cache goes in with its provenance, stored in the directory's dtype", async () => {
    const model = join(tempDir("into16"), "model");
    await run(["convert", "--base", fixture("bin_prefixed", "base"), "--out", model, "--dtype", "float16"]);
    const { cache, proximity } = pythonCache();
    await runWith(["convert", "--into", model, "--adapter", `proximity=${PROXIMITY_REPO}`, "--offline"], cache);
    const m = manifestOf(model);
    expect(m.adapters.proximity).toMatchObject({ origin: "cache", repo: PROXIMITY_REPO, commit: proximity.current });
    expect(m.default_adapter).toBe("proximity");
    expect([...readSafetensors(join(model, "adapters", "proximity.safetensors")).tensors.values()].every((t) => t.dtype === "F16")).toBe(true);
    await expect(run(["convert", "--into", model, "--adapter", `x=${fixture("adapters", "ln_shared")}`, "--dtype", "float32"])).rejects.toThrow(
      `${model} holds float16 weights; adapters added to it are stored as float16 (drop --dtype float32)`,
    );
    expect(await embedVerified(model, "proximity")).toMatch(/"embedding":\[/);
  });

  it("refuses an adapter that does not fit the directory's config, a name it has, one it lacks, and leaves it as it was", async () => {
    const model = join(tempDir("intobad"), "model");
    await run(["convert", "--base", fixture("bin_prefixed", "base"), "--adapter", `proximity=${fixture("adapters", "houlsby_preset")}`, "--out", model]);
    const before = readFileSync(join(model, "manifest.json"), "utf8");
    const wide = copyFixture(fixture("adapters", "houlsby_preset"), "wide");
    const config = JSON.parse(readFileSync(join(wide, "adapter_config.json"), "utf8")) as Record<string, unknown>;
    writeFileSync(join(wide, "adapter_config.json"), JSON.stringify({ ...config, hidden_size: 32 }));
    await expect(run(["convert", "--into", model, "--adapter", `wide=${wide}`])).rejects.toThrow('adapter "[HOU]" is for hidden_size 32, the base model has 16');
    // An adapter for 3 layers on a 2-layer model.
    const deeper = writeRandomHubModel(
      {
        config: { ...(JSON.parse(readFileSync(join(model, "config.json"), "utf8")) as BertConfig), num_hidden_layers: 3 },
        vocab: readFileSync(join(model, "vocab.txt"), "utf8").trim().split("\n"),
        adapters: [{ dir: "deep", name: "[DEEP]" }],
        seed: 7,
      },
      tempDir("deep"),
    ).adapters[0].dir;
    await expect(run(["convert", "--into", model, "--adapter", `deep=${deeper}`])).rejects.toThrow("or layers beyond the model's 2): bert.encoder.layer.2.output");
    await expect(run(["convert", "--into", model, "--adapter", `proximity=${fixture("adapters", "ln_shared")}`])).rejects.toThrow(
      `${model} already has an adapter "proximity": add --remove-adapter proximity to replace it`,
    );
    await expect(run(["convert", "--into", model, "--remove-adapter", "nope"])).rejects.toMatchObject({
      code: "UNKNOWN_ADAPTER",
      message: `${model} has no adapter "nope" to remove (it has: proximity)`,
    });
    await expect(run(["convert", "--into", model])).rejects.toThrow("nothing to change in");
    await expect(run(["convert", "--into", model, "--base", fixture("bin_prefixed", "base")])).rejects.toThrow(
      "--into changes an existing model directory: give it without --base and --out",
    );
    await expect(run(["convert", "--base", fixture("bin_prefixed", "base"), "--out", model, "--remove-adapter", "proximity"])).rejects.toThrow("--remove-adapter needs --into DIR");
    expect(readFileSync(join(model, "manifest.json"), "utf8")).toBe(before);
  });

  it("removing the last adapter leaves the bare base as the default", async () => {
    const model = join(tempDir("intolast"), "model");
    await run(["convert", "--base", fixture("bin_prefixed", "base"), "--adapter", `proximity=${fixture("adapters", "houlsby_preset")}`, "--out", model]);
    const out = await run(["convert", "--into", model, "--remove-adapter", "proximity"]);
    expect(out).toContain('note: the default adapter "proximity" was removed: the default is now none (the bare base)');
    expect(manifestOf(model)).toMatchObject({ adapters: {}, default_adapter: null });
    expect(await embedVerified(model, "none")).toMatch(/"embedding":\[/);
  });
});
