// The Hugging Face cache (src/hub/hfCache.ts, src/hub/fetchRepo.ts) against a fake one laid out as huggingface_hub
// lays it out (test/helpers/hfCache.ts): where it is, which snapshot a revision names, what counts as all
// there, blobs checked by their names (sha256 or git sha1), copies instead of links, and fetching into it
// from the fake Hub so that the next lookup is a hit. Also how a --base/--adapter argument is read.
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { fetchIntoCache } from "../../src/hub/fetchRepo";
import { DownloadProgress } from "../../src/hub/downloadFile";
import { blobHashes, folderProvenance, hfCacheDir, hubOfflineFromEnv, lookupCache, repoCacheFolder, verifyCachedFiles } from "../../src/hub/hfCache";
import { obtainSources } from "../../src/hub/obtainSources";
import { parseSourceRef } from "../../src/hub/sources";
import { REPO_FILES } from "../../src/weights/hub/repos";
import { FAKE_COMMIT, FakeHub, SPECTER2_FIXTURE_REPOS } from "../helpers/fakeHub";
import { FakeHfCache, gitSha1, sha256Hex } from "../helpers/hfCache";

const FIXTURES = join(__dirname, "..", "fixtures", "convert");
const BASE = join(FIXTURES, "bin_prefixed", "base");
const OLD_BASE = join(FIXTURES, "bin_bf16", "base");
const HOULSBY = join(FIXTURES, "adapters", "houlsby_preset");
const LN_SHARED = join(FIXTURES, "adapters", "ln_shared");

const quiet = () => new DownloadProgress({ isTTY: false, write: () => true } as unknown as NodeJS.WriteStream);

describe("where the cache is, and offline", () => {
  it("HF_HUB_CACHE, else $HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub", () => {
    expect(hfCacheDir({ HF_HUB_CACHE: "/c/hub", HF_HOME: "/h" })).toBe("/c/hub");
    expect(hfCacheDir({ HUGGINGFACE_HUB_CACHE: "/legacy" })).toBe("/legacy");
    expect(hfCacheDir({ HF_HOME: "/h" })).toBe("/h/hub");
    expect(hfCacheDir({ HF_HOME: "~/hf" })).toBe(join(homedir(), "hf", "hub"));
    expect(hfCacheDir({ XDG_CACHE_HOME: "/x" })).toBe("/x/huggingface/hub");
    expect(hfCacheDir({})).toBe(join(homedir(), ".cache", "huggingface", "hub"));
    expect(repoCacheFolder("/c", "allenai/specter2_base")).toBe("/c/models--allenai--specter2_base");
  });

  it("HF_HUB_OFFLINE is on for 1, ON, YES, TRUE in any case", () => {
    for (const v of ["1", "true", "YES", "on "]) expect(hubOfflineFromEnv({ HF_HUB_OFFLINE: v })).toBe(true);
    for (const v of [undefined, "", "0", "false", "no"]) expect(hubOfflineFromEnv({ HF_HUB_OFFLINE: v })).toBe(false);
  });
});

describe("a --base / --adapter argument", () => {
  const exists = (paths: string[]) => (p: string) => paths.includes(p);

  it("is a folder if the path exists, a Hub repo if it is owner/name and does not, else a (missing) folder", () => {
    expect(parseSourceRef("allenai/specter2", "main", exists([]))).toEqual({ kind: "hub", repo: "allenai/specter2", revision: "main" });
    expect(parseSourceRef("allenai/specter2", "main", exists(["allenai/specter2"]))).toEqual({ kind: "folder", dir: join(process.cwd(), "allenai", "specter2") });
    expect(parseSourceRef("allenai/specter2@v1.0", "main", exists([]))).toEqual({ kind: "hub", repo: "allenai/specter2", revision: "v1.0" });
    expect(parseSourceRef("me/x@refs/pr/1", "main", exists([]))).toEqual({ kind: "hub", repo: "me/x", revision: "refs/pr/1" });
    for (const folder of ["./allenai/specter2", "/abs/path", "hub/a/b", "specter2_base", "a/../b", "a--b/c"]) {
      expect(parseSourceRef(folder, "main", exists([])).kind).toBe("folder");
    }
    expect(() => parseSourceRef("allenai/specter2@", "main", exists([]))).toThrow('no revision after "@"');
  });

  it("a folder that is a cache snapshot records its repo and commit", () => {
    const commit = "a".repeat(40);
    expect(folderProvenance(`/c/models--allenai--specter2_base/snapshots/${commit}`)).toEqual({ origin: "folder", repo: "allenai/specter2_base", commit });
    expect(folderProvenance("/some/where")).toEqual({ origin: "folder" });
  });
});

describe("lookupCache", () => {
  it("follows refs/main to its snapshot, and @<commit> to another; files are the links into blobs/", () => {
    const hf = new FakeHfCache();
    const commits = hf.addWithHistory("allenai/specter2_base", BASE, OLD_BASE, { noExist: ["tokenizer_config.json", "special_tokens_map.json"] });
    const main = lookupCache(hf.cache, "allenai/specter2_base", "main", REPO_FILES.base);
    if (!main.hit) throw new Error(main.missing);
    expect(main.commit).toBe(commits.current);
    expect(main.dir).toBe(join(hf.folder("allenai/specter2_base"), "snapshots", commits.current));
    expect(main.files.map((f) => [f.file, f.hash])).toEqual([
      ["config.json", "git-sha1"],
      ["vocab.txt", "git-sha1"],
      ["tokenizer_config.json", "git-sha1"],
      ["special_tokens_map.json", "git-sha1"],
      ["pytorch_model.bin", "sha256"],
    ]);
    const bin = main.files.find((f) => f.file === "pytorch_model.bin")!;
    expect(lstatSync(bin.path).isSymbolicLink()).toBe(true);
    expect(readlinkSync(bin.path)).toBe(`../../blobs/${sha256Hex(readFileSync(join(BASE, "pytorch_model.bin")))}`);
    expect(verifyCachedFiles("allenai/specter2_base", main.dir, main.files)).toEqual(main.files);

    // The older snapshot has no tokenizer files; .no_exist says the repo had none then.
    const older = lookupCache(hf.cache, "allenai/specter2_base", commits.older, REPO_FILES.base);
    if (!older.hit) throw new Error(older.missing);
    expect(older.files.map((f) => f.file)).toEqual(["config.json", "vocab.txt", "pytorch_model.bin"]);
  });

  it("says what is missing: the repo, the revision, the snapshot, a file, or whether an optional one exists", () => {
    const hf = new FakeHfCache();
    const miss = (repo: string, revision: string) => {
      const l = lookupCache(hf.cache, repo, revision, REPO_FILES.base);
      return l.hit ? "hit" : l.missing;
    };
    expect(miss("allenai/specter2_base", "main")).toBe(`not in the cache (no ${hf.folder("allenai/specter2_base")})`);
    const commit = "b".repeat(40);
    hf.add({ repo: "allenai/specter2_base", snapshots: [{ commit, from: OLD_BASE, files: ["config.json", "vocab.txt"] }] });
    expect(miss("allenai/specter2_base", "v2")).toBe(`the cache does not know revision v2 (no ${join(hf.folder("allenai/specter2_base"), "refs", "v2")})`);
    expect(miss("allenai/specter2_base", "c".repeat(40))).toMatch(/^no snapshot of commit c{40}/);
    expect(miss("allenai/specter2_base", "main")).toBe(
      `snapshot ${commit} lacks tokenizer_config.json (or the knowledge that the repo has none), special_tokens_map.json (or the knowledge that the repo has none), pytorch_model.bin or model.safetensors`,
    );
    // A dangling link (its blob deleted) is no file.
    const hf2 = new FakeHfCache();
    hf2.addWithHistory("allenai/specter2", HOULSBY, LN_SHARED);
    const l = lookupCache(hf2.cache, "allenai/specter2", "main", REPO_FILES.adapter);
    if (!l.hit) throw new Error(l.missing);
    const blob = hf2.blobOf("allenai/specter2", l.commit, "pytorch_adapter.bin");
    rmSync(blob);
    const again = lookupCache(hf2.cache, "allenai/specter2", "main", REPO_FILES.adapter);
    expect(again.hit ? "hit" : again.missing).toBe(`snapshot ${l.commit} lacks pytorch_adapter.bin or adapter.safetensors`);
  });

  it("a corrupted blob is refused by its hash: sha256 names for LFS files, git sha1 names for small ones", () => {
    for (const file of ["pytorch_adapter.bin", "adapter_config.json"]) {
      const hf = new FakeHfCache();
      const commits = hf.addWithHistory("allenai/specter2", HOULSBY, LN_SHARED);
      const blob = hf.blobOf("allenai/specter2", commits.current, file);
      hf.corrupt(blob);
      const l = lookupCache(hf.cache, "allenai/specter2", "main", REPO_FILES.adapter);
      if (!l.hit) throw new Error(l.missing);
      const hash = file.endsWith(".bin") ? "sha256" : "git-sha1";
      expect(() => verifyCachedFiles("allenai/specter2", l.dir, l.files)).toThrow(
        new RegExp(`^allenai/specter2/${file.replace(".", "\\.")} in the Hugging Face cache is corrupt: its blob ${blob} has ${hash} [0-9a-f]+, its name says [0-9a-f]+; delete that blob`),
      );
    }
  });

  it("copies instead of links (Windows) are used, checked only where a blob with their hash remains", () => {
    const hf = new FakeHfCache();
    const commits = hf.addWithHistory("allenai/specter2", HOULSBY, LN_SHARED, { copies: true });
    const l = lookupCache(hf.cache, "allenai/specter2", "main", REPO_FILES.adapter);
    if (!l.hit) throw new Error(l.missing);
    expect(l.files.map((f) => [f.file, f.blob, f.hash])).toEqual([
      ["adapter_config.json", undefined, undefined],
      ["pytorch_adapter.bin", undefined, undefined],
    ]);
    expect(verifyCachedFiles("allenai/specter2", l.dir, l.files).map((f) => f.hash)).toEqual([undefined, undefined]);
    const bytes = readFileSync(join(HOULSBY, "adapter_config.json"));
    mkdirSync(join(hf.folder("allenai/specter2"), "blobs"), { recursive: true });
    writeFileSync(join(hf.folder("allenai/specter2"), "blobs", gitSha1(bytes)), bytes);
    expect(verifyCachedFiles("allenai/specter2", l.dir, l.files).map((f) => f.hash)).toEqual(["git-sha1", undefined]);
    expect(commits.current).toMatch(/^[0-9a-f]{40}$/);
  });

  it("blobHashes gives the sha256 and the git blob sha1 (as `git hash-object` does)", () => {
    const dir = mkdtempSync(join(tmpdir(), "blob-"));
    writeFileSync(join(dir, "f"), "hello\n");
    expect(blobHashes(join(dir, "f"))).toEqual({
      sha256: "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03",
      gitSha1: "ce013625030ba8dba906f756967f9e9ca394464a",
      bytes: 6,
    });
  });
});

describe("fetching into the cache", () => {
  let hub: FakeHub;
  afterEach(async () => {
    await hub?.close();
  });

  it("lays the files out as huggingface_hub does, so the next lookup is a hit without the network", async () => {
    hub = await FakeHub.start({ repos: SPECTER2_FIXTURE_REPOS });
    const hf = new FakeHfCache();
    const fetched = await fetchIntoCache(hf.cache, "allenai/specter2_base", "main", "base", { endpoint: hub.endpoint }, quiet());
    const folder = hf.folder("allenai/specter2_base");
    expect(fetched.commit).toBe(FAKE_COMMIT);
    expect(fetched.dir).toBe(join(folder, "snapshots", FAKE_COMMIT));
    expect(readFileSync(join(folder, "refs", "main"), "utf8")).toBe(FAKE_COMMIT);
    expect(readdirSync(folder).sort()).toEqual([".no_exist", "blobs", "refs", "snapshots"]); // the staging folder is gone
    for (const file of ["config.json", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json", "pytorch_model.bin"]) {
      const bytes = readFileSync(join(BASE, file));
      const name = file.endsWith(".bin") ? sha256Hex(bytes) : gitSha1(bytes);
      expect(readlinkSync(join(fetched.dir, file))).toBe(`../../blobs/${name}`);
      expect(readFileSync(join(folder, "blobs", name))).toEqual(bytes);
    }
    expect(existsSync(join(folder, ".no_exist", FAKE_COMMIT, "tokenizer.json"))).toBe(true);
    expect(fetched.files.filter((f) => f.outcome !== "absent").every((f) => f.verified)).toBe(true);

    hub.requests.length = 0;
    const [again] = await obtainSources([{ kind: "base", ref: { kind: "hub", repo: "allenai/specter2_base", revision: "main" } }], {
      cache: hf.cache,
      offline: false,
      hub: () => ({ endpoint: hub.endpoint }),
      fetchInto: "cache",
      progress: quiet(),
    });
    expect(again.origin).toBe("cache");
    expect(again.commit).toBe(FAKE_COMMIT);
    expect(hub.requestCount).toBe(0);
  });

  it("offline, the error names each repo and what the cache lacks, and nothing is asked of the Hub", async () => {
    const hf = new FakeHfCache();
    hf.add({ repo: "allenai/specter2", snapshots: [{ commit: "d".repeat(40), from: HOULSBY, files: ["adapter_config.json"] }] });
    let called = 0;
    const run = obtainSources(
      [
        { kind: "base", ref: { kind: "hub", repo: "allenai/specter2_base", revision: "main" } },
        { kind: "adapter", name: "proximity", ref: { kind: "hub", repo: "allenai/specter2", revision: "main" } },
        { kind: "adapter", name: "mine", ref: { kind: "folder", dir: HOULSBY } },
      ],
      { cache: hf.cache, offline: true, hub: () => (called++, { endpoint: "http://127.0.0.1:9" }), fetchInto: "cache", progress: quiet() },
    );
    await expect(run).rejects.toMatchObject({
      code: "MODEL_NOT_FOUND",
      file: hf.cache,
      message: expect.stringContaining(
        `the Hugging Face cache ${hf.cache} lacks what the conversion reads:\n` +
          `  allenai/specter2_base@main: not in the cache (no ${hf.folder("allenai/specter2_base")})\n` +
          `  allenai/specter2@main: snapshot ${"d".repeat(40)} lacks pytorch_adapter.bin or adapter.safetensors\n`,
      ),
    });
    expect(called).toBe(0);
  });
});
