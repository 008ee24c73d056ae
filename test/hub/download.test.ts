// Downloading SPECTER2's Hub files from a local fake Hub (test/helpers/fakeHub.ts): byte-identical files,
// sha256 checks, resume with Range, skipping complete files, clear errors, and where the token goes.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DownloadedFile } from "../../src/hub/downloadFile";
import { describeFile, downloadHubFile, DownloadProgress, PARTIAL_SUFFIX, RECORDS_DIR, UNANNOUNCED_SIZE_CAPS } from "../../src/hub/downloadFile";
import type { DownloadedSpecter2 } from "../../src/hub/obtainSources";
import { downloadSpecter2, downloadSummary } from "../../src/hub/obtainSources";
import type { HubConnection } from "../../src/hub/hubHttp";
import { hubEndpoint, hubToken, MAX_REDIRECTS } from "../../src/hub/hubHttp";
import { resolveUrl } from "../../src/weights/hub/hubErrors";
import { ADAPTER_NAMES } from "../../src/weights/hub/repos";
import { FAKE_COMMIT, FakeHub, SPECTER2_FIXTURE_REPOS } from "../helpers/fakeHub";

const REPOS = SPECTER2_FIXTURE_REPOS;
const BASE_DIR = REPOS["allenai/specter2_base"];
const BASE_BIN = "allenai/specter2_base/pytorch_model.bin";
const BASE_BIN_BYTES = readFileSync(join(BASE_DIR, "pytorch_model.bin"));

/** Progress written to a string instead of stderr. */
function captureProgress(isTTY = false): { progress: DownloadProgress; text: () => string } {
  let text = "";
  const stream = { isTTY, write: (s: string) => ((text += s), true) } as unknown as NodeJS.WriteStream;
  return { progress: new DownloadProgress(stream), text: () => text };
}

function tempOut(): string {
  return mkdtempSync(join(tmpdir(), "download-"));
}

/** An empty Hugging Face cache: these tests are about the Hub alone (test/hub/cache.test.ts has the cache). */
const EMPTY_CACHE = mkdtempSync(join(tmpdir(), "download-no-cache-"));

let hub: FakeHub;
afterEach(async () => {
  await hub?.close();
});

async function startHub(options: { token?: string; renamed?: Record<string, string> } = {}): Promise<FakeHub> {
  hub = await FakeHub.start({ repos: REPOS, ...options });
  return hub;
}

function download(out: string, connection: Partial<HubConnection> = {}, revision = "main"): Promise<DownloadedSpecter2> {
  return downloadSpecter2({
    out,
    revision,
    adapters: ADAPTER_NAMES,
    hub: { endpoint: hub.endpoint, ...connection },
    cache: EMPTY_CACHE,
    progress: captureProgress().progress,
  });
}

function baseBinPath(out: string): string {
  return join(out, "hub", "allenai--specter2_base", "pytorch_model.bin");
}

function outcomes(result: DownloadedSpecter2): Record<string, string> {
  const files = [result.base, ...result.adapters].flatMap((r) => r.files);
  return Object.fromEntries(files.map((f) => [`${f.repo}/${f.file}`, f.outcome]));
}

describe("downloadSpecter2 end to end", () => {
  it("fetches the base and the four adapters byte for byte, checking LFS files' sha256", async () => {
    await startHub();
    const out = tempOut();
    const result = await download(out);

    expect(result.base.dir).toBe(join(out, "hub", "allenai--specter2_base"));
    expect(result.adapters.map((a) => [a.name, a.dir])).toEqual([
      ["proximity", join(out, "hub", "allenai--specter2")],
      ["adhoc_query", join(out, "hub", "allenai--specter2_adhoc_query")],
      ["classification", join(out, "hub", "allenai--specter2_classification")],
      ["regression", join(out, "hub", "allenai--specter2_regression")],
    ]);
    for (const repo of [result.base, ...result.adapters]) {
      for (const f of repo.files.filter((x) => x.outcome !== "absent")) {
        expect(f.outcome).toBe("downloaded");
        expect(f.commit).toBe(FAKE_COMMIT);
        expect(readFileSync(f.path)).toEqual(readFileSync(join(REPOS[repo.repo], f.file)));
        // The Hub gives a sha256 for LFS files only; small files' ETag is their git blob sha1, checked as well.
        expect([f.file, f.verified, f.hash]).toEqual([f.file, true, f.file.endsWith(".bin") ? "sha256" : "git-sha1"]);
        expect(existsSync(f.path + PARTIAL_SUFFIX)).toBe(false);
      }
    }
    expect(result.base.files.map((f) => [f.file, f.outcome])).toEqual([
      ["config.json", "downloaded"],
      ["vocab.txt", "downloaded"],
      ["tokenizer_config.json", "downloaded"],
      ["special_tokens_map.json", "downloaded"],
      ["pytorch_model.bin", "downloaded"],
      ["tokenizer.json", "absent"],
    ]);
    // Prediction heads are not part of the embedding: never asked for, never written.
    expect(hub.requests.filter((r) => /head/.test(r.path))).toEqual([]);
    expect(existsSync(join(out, "hub", "allenai--specter2_adhoc_query", "head_config.json"))).toBe(false);

    const summary = downloadSummary(result, "main");
    expect(summary).toContain(`allenai/specter2_base (commit ${FAKE_COMMIT}) → ${result.base.dir}`);
    expect(summary).toMatch(/pytorch_model\.bin +35\.6 kB +downloaded +sha256 verified/);
    expect(summary).toMatch(/config\.json +385 B +downloaded +git-sha1 verified$/m);
    expect(summary).toMatch(/tokenizer\.json +- +absent +optional, not in the repo/);
    expect(summary).toContain("13 files: 13 downloaded, 0 resumed, 0 already complete; 13 verified against the Hub's hashes (5 sha256, 8 git sha1)\n");
  });

  it("prints one line per file when stderr is not a terminal, a redrawn byte counter with MB/s when it is", async () => {
    await startHub();
    const out = tempOut();
    const plain = captureProgress(false);
    const request = { repo: "allenai/specter2_base", revision: "main", file: "pytorch_model.bin", optional: false };
    await downloadHubFile(request, join(out, "plain"), { endpoint: hub.endpoint }, plain.progress);
    expect(plain.text()).toBe(""); // the caller prints the file's line

    const result = await downloadSpecter2({
      out,
      revision: "main",
      adapters: ["proximity"],
      hub: { endpoint: hub.endpoint },
      cache: EMPTY_CACHE,
      progress: plain.progress,
    });
    expect(
      plain
        .text()
        .split("\n")
        .filter((l) => l !== ""),
    ).toHaveLength(result.base.files.length + 2);
    expect(plain.text()).toMatch(/^allenai\/specter2_base\/pytorch_model\.bin: 35\.6 kB in \d+\.\d s \([\d.-]+ MB\/s\), sha256 verified$/m);
    expect(plain.text()).toContain("allenai/specter2_base/tokenizer.json: not in the repo (optional)\n");

    const tty = captureProgress(true);
    await downloadHubFile(request, join(out, "tty"), { endpoint: hub.endpoint }, tty.progress);
    // eslint-disable-next-line no-control-regex -- the progress line on a TTY starts with the ESC [K (erase line) sequence
    expect(tty.text()).toMatch(/^\r\x1b\[Kallenai\/specter2_base\/pytorch_model\.bin {2}0 B \/ 35\.6 kB {2}- MB\/s/);
    expect(tty.text().endsWith("\r\x1b[K")).toBe(true);
  });
});

describe("verification", () => {
  it("a file whose sha256 differs from the Hub's is an error, and nothing corrupt is kept", async () => {
    await startHub();
    hub.corrupt.add(BASE_BIN);
    const out = tempOut();
    const sha = (await import("node:crypto")).createHash("sha256");
    const expected = sha.update(BASE_BIN_BYTES).digest("hex");
    const error = await download(out).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(error?.message).toMatch(
      new RegExp(
        `^allenai/specter2_base/pytorch_model\\.bin: sha256 mismatch, the Hub says ${expected} but the downloaded bytes have (?!${expected})[0-9a-f]{64} \\(from http://localhost:\\d+/cdn/${expected}\\); the corrupt download was deleted`,
      ),
    );
    expect(existsSync(baseBinPath(out))).toBe(false);
    expect(existsSync(baseBinPath(out) + PARTIAL_SUFFIX)).toBe(false);

    hub.corrupt.clear();
    const result = await download(out);
    expect(outcomes(result)[BASE_BIN]).toBe("downloaded");
    expect(readFileSync(baseBinPath(out))).toEqual(BASE_BIN_BYTES);
  });

  it("a small file altered on the way is refused by the git sha1 the Hub's ETag gives, and nothing is kept", async () => {
    await startHub();
    const key = "allenai/specter2_base/config.json";
    hub.corrupt.add(key);
    const out = tempOut();
    const gitSha1 = (await import("node:crypto")).createHash("sha1");
    const bytes = readFileSync(join(BASE_DIR, "config.json"));
    const expected = gitSha1.update(`blob ${bytes.length}\0`).update(bytes).digest("hex");
    const error = await download(out).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "HUB_ERROR", url: `${hub.endpoint}/allenai/specter2_base/resolve/main/config.json` });
    expect((error as Error).message).toMatch(
      new RegExp(`^allenai/specter2_base/config\\.json: git-sha1 mismatch, the Hub's ETag says ${expected} but the downloaded bytes have (?!${expected})[0-9a-f]{40} \\(from `),
    );
    expect(existsSync(join(out, "hub", "allenai--specter2_base", "config.json"))).toBe(false);
    expect(existsSync(join(out, "hub", "allenai--specter2_base", `config.json${PARTIAL_SUFFIX}`))).toBe(false);
  });

  it("a mirror that drops X-Linked-Etag: weights are kept but said to be NOT verified, never checked; requireSha256 refuses them before their body", async () => {
    await startHub();
    hub.dropLinkedHeaders = true;
    const out = tempOut();
    const result = await download(out);
    const weights = [result.base, ...result.adapters].flatMap((r) => r.files).filter((f) => f.file.endsWith(".bin"));
    expect(weights.map((f) => [f.file, f.verified])).toEqual(weights.map((f) => [f.file, false]));
    const bin = result.base.files.find((f) => f.file === "pytorch_model.bin")!;
    expect(describeFile(bin)).toMatch(
      /^allenai\/specter2_base\/pytorch_model\.bin: 35\.6 kB in \d+\.\d s \([\d.-]+ MB\/s\), not verified \(the Hub gave no LFS sha256 for this weights file\)$/,
    );
    const summary = downloadSummary(result, "main");
    expect(summary).toMatch(/pytorch_model\.bin +35\.6 kB +downloaded +not verified \(the Hub gave no LFS sha256 for this weights file\)$/m);
    expect(summary).toContain(
      "13 files: 13 downloaded, 0 resumed, 0 already complete; 8 verified against the Hub's hashes (0 sha256, 8 git sha1), 5 NOT verified (the Hub gave no hash for them)\n",
    );
    expect(summary).not.toMatch(/checked|size checked/);

    const strict = tempOut();
    hub.requests.length = 0;
    const error = await downloadSpecter2({
      out: strict,
      revision: "main",
      adapters: [],
      hub: { endpoint: hub.endpoint },
      cache: EMPTY_CACHE,
      progress: captureProgress().progress,
      requireSha256: true,
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "HUB_ERROR", url: expect.stringMatching(/^http:\/\/localhost:\d+\/cdn\/[0-9a-f]{64}$/), file: baseBinPath(strict) });
    expect((error as Error).message).toMatch(
      /^allenai\/specter2_base\/pytorch_model\.bin: the Hub gave no LFS sha256 \(X-Linked-Etag\) to verify it against, and --require-sha256 asks for one \(from http:\/\/localhost:\d+\/cdn\/[0-9a-f]{64}\)$/,
    );
    expect(existsSync(baseBinPath(strict))).toBe(false);
    // A file kept unverified by an earlier run is not skipped under requireSha256: asked for again, and refused.
    hub.dropLinkedHeaders = false;
    const fixed = await downloadSpecter2({
      out,
      revision: "main",
      adapters: [],
      hub: { endpoint: hub.endpoint },
      cache: EMPTY_CACHE,
      progress: captureProgress().progress,
      requireSha256: true,
    });
    expect(fixed.base.files.find((f) => f.file === "pytorch_model.bin")).toMatchObject({ outcome: "downloaded", verified: true, hash: "sha256" });
  });

  it("a file sent chunked with no size is cut off at its kind's cap (16 MiB for a vocabulary) and deleted", async () => {
    await startHub();
    const key = "allenai/specter2_base/vocab.txt";
    // A 200 MB vocab.txt was accepted; 24 MiB (past the cap, and a bound on what an unfixed reader would keep) shows it.
    hub.chunkedTo.set(key, 24 << 20);
    const out = tempOut();
    const started = Date.now();
    const error = await download(out).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "HUB_ERROR", url: `${hub.endpoint}/${"allenai/specter2_base/resolve/main/vocab.txt"}` });
    expect((error as Error).message).toBe(
      `${hub.endpoint}/allenai/specter2_base/resolve/main/vocab.txt announced no size for ${key} and sent more than the ${16 * 2 ** 20} bytes such a file may hold (not a weights file); the download was deleted`,
    );
    expect(UNANNOUNCED_SIZE_CAPS.other).toBe(16 * 2 ** 20);
    expect(existsSync(join(out, "hub", "allenai--specter2_base", "vocab.txt"))).toBe(false);
    expect(existsSync(join(out, "hub", "allenai--specter2_base", `vocab.txt${PARTIAL_SUFFIX}`))).toBe(false);
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  it("more bytes than the Hub announced (X-Linked-Size) is an error, and the download is deleted", async () => {
    await startHub();
    hub.announcedSize.set(BASE_BIN, 30_000);
    const out = tempOut();
    await expect(download(out)).rejects.toThrow(
      /^http:\/\/localhost:\d+\/cdn\/[0-9a-f]{64} sent more than the 30000 bytes of allenai\/specter2_base\/pytorch_model\.bin the Hub announced; the download was deleted/,
    );
    expect(existsSync(baseBinPath(out))).toBe(false);
    expect(existsSync(baseBinPath(out) + PARTIAL_SUFFIX)).toBe(false);
  });

  it("a complete file changed on disk is fetched again instead of skipped", async () => {
    await startHub();
    const out = tempOut();
    await download(out);
    const damaged = Buffer.from(BASE_BIN_BYTES);
    damaged[100] ^= 1;
    writeFileSync(baseBinPath(out), damaged);
    hub.requests.length = 0;
    const result = await download(out);
    expect(outcomes(result)[BASE_BIN]).toBe("downloaded");
    expect(readFileSync(baseBinPath(out))).toEqual(BASE_BIN_BYTES);
    expect(hub.requestsFor(BASE_BIN).map((r) => r.on)).toEqual(["hub", "cdn"]);
  });
});

describe("resume and skip", () => {
  it("a download cut off mid-file resumes with Range on the rerun and ends byte-identical", async () => {
    await startHub();
    hub.dropAfter.set(BASE_BIN, 10_000);
    const out = tempOut();
    const error = await download(out).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(error?.message).toMatch(
      /^download of allenai\/specter2_base\/pytorch_model\.bin from http:\/\/localhost:\d+\/cdn\/[0-9a-f]{64} broke off after 10000 of 35567 bytes \(.+\); run the command again to resume it$/,
    );
    expect(existsSync(baseBinPath(out))).toBe(false);
    expect(readFileSync(baseBinPath(out) + PARTIAL_SUFFIX)).toEqual(BASE_BIN_BYTES.subarray(0, 10_000));

    hub.requests.length = 0;
    const result = await download(out);
    const resumed = result.base.files.find((f) => f.file === "pytorch_model.bin")!;
    expect(resumed).toMatchObject({ outcome: "resumed", bytes: 35_567, transferred: 25_567, verified: true });
    expect(describeFile(resumed)).toMatch(/^allenai\/specter2_base\/pytorch_model\.bin: 35\.6 kB \(resumed at 10\.0 kB\) in \d+\.\d s \([\d.-]+ MB\/s\), sha256 verified$/);
    expect(readFileSync(baseBinPath(out))).toEqual(BASE_BIN_BYTES);
    expect(existsSync(baseBinPath(out) + PARTIAL_SUFFIX)).toBe(false);
    expect(hub.requestsFor(BASE_BIN).map((r) => [r.on, r.range])).toEqual([
      ["hub", "bytes=10000-"],
      ["cdn", "bytes=10000-"],
    ]);
  });

  it("a small (non-LFS) file cut off mid-way resumes from the Hub itself", async () => {
    await startHub();
    const key = "allenai/specter2_base/config.json";
    hub.dropAfter.set(key, 100);
    const out = tempOut();
    await expect(download(out)).rejects.toThrow(/config\.json from http:\/\/127\.0\.0\.1:\d+\/allenai\/specter2_base\/resolve\/main\/config\.json broke off after 100 of 385 bytes/);
    const result = await download(out);
    expect(outcomes(result)[key]).toBe("resumed");
    expect(readFileSync(join(result.base.dir, "config.json"))).toEqual(readFileSync(join(BASE_DIR, "config.json")));
    expect(hub.requestsFor(key).map((r) => r.range)).toEqual([undefined, "bytes=100-"]);
  });

  it("a server that ignores Range (200) makes the rerun start the file over, cleanly", async () => {
    await startHub();
    hub.dropAfter.set(BASE_BIN, 10_000);
    const out = tempOut();
    await expect(download(out)).rejects.toThrow(/broke off after 10000 of 35567 bytes/);
    hub.ignoreRange = true;
    hub.requests.length = 0;
    const result = await download(out);
    expect(outcomes(result)[BASE_BIN]).toBe("downloaded");
    expect(readFileSync(baseBinPath(out))).toEqual(BASE_BIN_BYTES);
    expect(hub.requestsFor(BASE_BIN).map((r) => [r.on, r.range])).toEqual([
      ["hub", "bytes=10000-"],
      ["cdn", "bytes=10000-"],
    ]);
  });

  it("a partial file of another version of the file (etag changed on the Hub) is not resumed but started over", async () => {
    await startHub();
    hub.dropAfter.set(BASE_BIN, 10_000);
    const out = tempOut();
    await expect(download(out)).rejects.toThrow(/broke off/);
    const recordPath = join(out, "hub", "allenai--specter2_base", RECORDS_DIR, "pytorch_model.bin.json");
    const record = JSON.parse(readFileSync(recordPath, "utf8")) as { etag: string };
    writeFileSync(recordPath, JSON.stringify({ ...record, etag: "f".repeat(64) }));
    hub.requests.length = 0;
    const result = await download(out);
    expect(outcomes(result)[BASE_BIN]).toBe("downloaded");
    expect(readFileSync(baseBinPath(out))).toEqual(BASE_BIN_BYTES);
    // The Hub's answer shows the new version; the ranged CDN answer it redirected to is dropped unread.
    expect(hub.requestsFor(BASE_BIN).map((r) => [r.on, r.range])).toEqual([
      ["hub", "bytes=10000-"],
      ["cdn", "bytes=10000-"],
      ["hub", undefined],
      ["cdn", undefined],
    ]);
  });

  it("complete files are skipped on a rerun without a single request for them", async () => {
    await startHub();
    const out = tempOut();
    await download(out);
    hub.requests.length = 0;
    const result = await download(out);
    const states = outcomes(result);
    expect(Object.entries(states).filter(([, o]) => o !== "skipped")).toEqual([["allenai/specter2_base/tokenizer.json", "absent"]]);
    // Only the optional file the repo lacks is asked for again.
    expect(hub.requests.map((r) => r.file)).toEqual(["allenai/specter2_base/tokenizer.json"]);
    expect(downloadSummary(result, "main")).toContain("13 files: 0 downloaded, 0 resumed, 13 already complete; 13 verified against the Hub's hashes (5 sha256, 8 git sha1)\n");
  });

  it("files of one repo from different commits (the branch moved between runs) are refused, not mixed", async () => {
    await startHub();
    const out = tempOut();
    await download(out);
    const recordPath = join(out, "hub", "allenai--specter2", RECORDS_DIR, "adapter_config.json.json");
    writeFileSync(recordPath, JSON.stringify({ ...JSON.parse(readFileSync(recordPath, "utf8")), commit: "f".repeat(40) }));
    await expect(download(out)).rejects.toThrow(
      `the files of allenai/specter2 in ${join(out, "hub", "allenai--specter2")} come from different commits (${"f".repeat(40)}, ${FAKE_COMMIT}): revision main moved since some were downloaded`,
    );
  });

  it("another revision is not taken for the one on disk", async () => {
    await startHub();
    const out = tempOut();
    await download(out);
    await expect(download(out, {}, "v2")).rejects.toThrow(/HTTP 404, repo allenai\/specter2_base has no revision v2/);
  });
});

describe("errors and the token", () => {
  const request = (repo: string, file: string, revision = "main") => ({ repo, revision, file, optional: false });

  async function fetchError(connection: HubConnection, req = request("allenai/specter2_base", "config.json")): Promise<string> {
    const out = tempOut();
    const error = await downloadHubFile(req, out, connection, captureProgress().progress).then(
      () => undefined,
      (e: Error) => e,
    );
    if (error === undefined) throw new Error("the download succeeded");
    expect(existsSync(join(out, req.file))).toBe(false);
    return error.message;
  }

  it("404s (and the 401 of a repo that is not there, as the Hub answers) name the repo, the file and the revision", async () => {
    await startHub();
    const url = (repo: string, rev: string, file: string) => `${hub.endpoint}/${repo}/resolve/${rev}/${file}`;
    expect(await fetchError({ endpoint: hub.endpoint }, request("allenai/specter2_base", "model.safetensors"))).toBe(
      `${url("allenai/specter2_base", "main", "model.safetensors")}: HTTP 404, repo allenai/specter2_base has no file model.safetensors at revision main (the Hub says: model.safetensors does not exist on "main")`,
    );
    expect(await fetchError({ endpoint: hub.endpoint }, request("allenai/nope", "config.json"))).toMatch(
      /resolve\/main\/config\.json: HTTP 401, repo allenai\/nope does not exist, or is private: check its name; if the repo is private or gated, set HF_TOKEN/,
    );
    // An optional file may be absent, but not because its repo is.
    expect(await fetchError({ endpoint: hub.endpoint }, { ...request("allenai/nope", "tokenizer.json"), optional: true })).toMatch(/HTTP 401, repo allenai\/nope does not exist/);
    expect(await fetchError({ endpoint: hub.endpoint }, request("allenai/specter2_base", "config.json", "refs/pr/1"))).toContain(
      `${url("allenai/specter2_base", "refs%2Fpr%2F1", "config.json")}: HTTP 404, repo allenai/specter2_base has no revision refs/pr/1`,
    );
  });

  it("401 says to set HF_TOKEN, or that the one set was refused", async () => {
    await startHub({ token: "hf_secret" });
    expect(await fetchError({ endpoint: hub.endpoint })).toMatch(
      /: HTTP 401, not authorized to read allenai\/specter2_base; if the repo is private or gated, set HF_TOKEN to an access token that can read it \(the Hub says: Access to model allenai\/specter2_base is restricted/,
    );
    expect(await fetchError({ endpoint: hub.endpoint, token: "hf_wrong" })).toContain("HTTP 401, not authorized to read allenai/specter2_base; HF_TOKEN is set but was refused");
  });

  it("the token goes to the Hub and never to the CDN it redirects to", async () => {
    await startHub({ token: "hf_secret" });
    const out = tempOut();
    await download(out, { token: "hf_secret" });
    expect(readFileSync(baseBinPath(out))).toEqual(BASE_BIN_BYTES);
    const byHost = (on: string) => hub.requests.filter((r) => r.on === on);
    expect(byHost("hub").length).toBe(14);
    expect(byHost("hub").every((r) => r.authorization === "Bearer hf_secret")).toBe(true);
    expect(byHost("cdn").length).toBe(5);
    expect(byHost("cdn").map((r) => r.authorization)).toEqual([undefined, undefined, undefined, undefined, undefined]);
  });

  it("a renamed repo's relative redirect is followed, and the sha256 still comes from the Hub", async () => {
    await startHub({ renamed: { "allenai/specter_plus_plus": "allenai/specter2_base" } });
    const out = tempOut();
    const file: DownloadedFile = await downloadHubFile(request("allenai/specter_plus_plus", "pytorch_model.bin"), out, { endpoint: hub.endpoint }, captureProgress().progress);
    expect(file).toMatchObject({ outcome: "downloaded", verified: true, bytes: BASE_BIN_BYTES.length, resolvedRepo: "allenai/specter2_base" });
    expect(readFileSync(join(out, "pytorch_model.bin"))).toEqual(BASE_BIN_BYTES);
    expect(hub.requests.map((r) => [r.on, r.path.replace(/[0-9a-f]{64}/, "SHA")])).toEqual([
      ["hub", "/allenai/specter_plus_plus/resolve/main/pytorch_model.bin"],
      ["hub", "/allenai/specter2_base/resolve/main/pytorch_model.bin"],
      ["cdn", "/cdn/SHA"],
    ]);
  });

  it("a redirect loop ends after MAX_REDIRECTS with an error", async () => {
    await startHub({ renamed: { "allenai/loop": "allenai/loop" } });
    expect(await fetchError({ endpoint: hub.endpoint }, request("allenai/loop", "config.json"))).toBe(
      `allenai/loop/config.json: ${hub.endpoint}/allenai/loop/resolve/main/config.json: more than ${MAX_REDIRECTS} redirects (last to /allenai/loop/resolve/main/config.json); run the command again to resume (finished files are kept)`,
    );
    expect(hub.requests).toHaveLength(MAX_REDIRECTS + 1);
  });

  it("a network error names the URL and says a rerun resumes", async () => {
    // A port that was just free: nothing listens there.
    const server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const message = await fetchError({ endpoint: `http://127.0.0.1:${port}` });
    expect(message).toBe(
      `allenai/specter2_base/config.json: http://127.0.0.1:${port}/allenai/specter2_base/resolve/main/config.json: connect ECONNREFUSED 127.0.0.1:${port}; run the command again to resume (finished files are kept)`,
    );
  });

  it("unknown or repeated adapter names fail before anything is fetched", async () => {
    await startHub();
    const run = (adapters: string[]) => downloadSpecter2({ out: tempOut(), revision: "main", adapters, hub: { endpoint: hub.endpoint }, cache: EMPTY_CACHE });
    await expect(run(["proximity", "specter"])).rejects.toThrow('unknown adapter "specter": SPECTER2\'s adapters are proximity, adhoc_query, classification, regression');
    await expect(run(["constructor"])).rejects.toThrow('unknown adapter "constructor"');
    await expect(run(["proximity", "proximity"])).rejects.toThrow('adapter "proximity" is given twice');
    expect(hub.requests).toEqual([]);
  });
});

describe("the Hub's address and token from the environment", () => {
  it("HF_ENDPOINT defaults to huggingface.co and loses a trailing slash; a blank HF_TOKEN is no token", () => {
    expect(hubEndpoint({})).toBe("https://huggingface.co");
    expect(hubEndpoint({ HF_ENDPOINT: "https://hf-mirror.example/ " })).toBe("https://hf-mirror.example");
    expect(hubToken({ HF_TOKEN: "  " })).toBeUndefined();
    expect(hubToken({ HF_TOKEN: "hf_x\n" })).toBe("hf_x");
  });

  it("resolve URLs keep the file's folders and make the revision one segment", () => {
    expect(resolveUrl("https://huggingface.co", "allenai/specter2", "refs/pr/3", "onnx/model one.bin")).toBe(
      "https://huggingface.co/allenai/specter2/resolve/refs%2Fpr%2F3/onnx/model%20one.bin",
    );
  });
});
