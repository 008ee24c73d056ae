// One file of a Hub repo into a local folder: written as `<file>.incomplete`, checked (its size; the sha256 the Hub
// gives LFS files, the git blob sha1 its ETag gives small ones), then renamed. A file the Hub gives no hash for is
// kept but said to be not verified (or refused, with `requireSha256`), and one it announces no size for is cut off at
// a cap. A rerun skips a complete file without asking the Hub and resumes a partial one with a Range request.
import type { Hash } from "node:crypto";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync } from "node:fs";
import { open } from "node:fs/promises";
import type { IncomingMessage } from "node:http";
import { dirname, join } from "node:path";
import type { HubConnection, HubFileMetadata } from "./hubHttp";
import { getFollowingRedirects, headerValue, hubFileMetadata, parseContentRange, repoOfResolveUrl } from "./hubHttp";
import type { HubFileRef } from "../weights/hub/hubErrors";
import { HubError, hubStatusError, resolveUrl } from "../weights/hub/hubErrors";
import { writeFileAtomic } from "../io/atomicFile";
import { fileDigest, hashFile } from "../io/fileHash";
import type { BlobHash } from "./hfCache";
import { blobHashes } from "./hfCache";
import type { Progress } from "../weights/modelDir";
import { Specter2Error } from "../errors";

export interface HubFileRequest extends HubFileRef {
  /** A file the repo may lack: a 404 then means "absent", not an error. */
  optional: boolean;
}

/** "cached": taken from the Hugging Face cache, not from the Hub (src/hub/obtainSources.ts). */
export type DownloadOutcome = "downloaded" | "resumed" | "skipped" | "absent" | "cached";

export interface DownloadedFile {
  repo: string;
  file: string;
  path: string;
  outcome: DownloadOutcome;
  /** Size on disk (0 when absent). */
  bytes: number;
  /** Bytes fetched by this run and the seconds it took. */
  transferred: number;
  seconds: number;
  /** Whether the file was checked against a hash the Hub gave: the sha256 of an LFS file, the git blob sha1 of a
   *  small one (or, from the Hugging Face cache, its blob's name). */
  verified: boolean;
  /** What `verified` checked; absent for an old download record, which checked only sha256s. */
  hash?: BlobHash;
  /** The commit the revision pointed at (X-Repo-Commit), when the Hub said. */
  commit: string | undefined;
  /** The file's version as the Hub named it (the LFS sha256 or the git blob sha1): its blob name in a Hugging Face cache. */
  etag?: string;
  /** The repo's name on the Hub where it redirected the one asked for (a renamed repo); else undefined. */
  resolvedRepo?: string;
}

export interface DownloadOptions {
  /** A file the Hub gives no hash for (the LFS sha256 of a weights file, the git sha1 ETag of a small one) is an
   *  error (HUB_ERROR naming its URL) before its body is read, instead of a download said to be not verified. */
  requireSha256?: boolean;
}

/**
 * The most a file may hold when the Hub announces no size for it (a chunked answer, no X-Linked-Size): a weights
 * file more than twice BERT-large in float32; any other file (configs, vocabularies, tokenizers: kilobytes to a few
 * MB) 16 MiB. Past that the download is cut off and deleted.
 */
export const UNANNOUNCED_SIZE_CAPS = { weights: 4 * 2 ** 30, other: 16 * 2 ** 20 } as const;

/** Files that are LFS on the Hub (their sha256 comes in X-Linked-Etag): the weights. */
export function isWeightsFile(file: string): boolean {
  return /\.(bin|safetensors)$/.test(file);
}

interface Transfer {
  request: HubFileRequest;
  options: DownloadOptions;
  hub: HubConnection;
  dir: string;
  url: string;
  finalPath: string;
  partialPath: string;
  label: string;
  progress: DownloadProgress;
}

export const PARTIAL_SUFFIX = ".incomplete";

export async function downloadHubFile(request: HubFileRequest, dir: string, hub: HubConnection, progress: DownloadProgress, options: DownloadOptions = {}): Promise<DownloadedFile> {
  const finalPath = join(dir, request.file);
  const t: Transfer = {
    request,
    options,
    hub,
    dir,
    finalPath,
    progress,
    url: resolveUrl(hub.endpoint, request.repo, request.revision, request.file),
    partialPath: `${finalPath}${PARTIAL_SUFFIX}`,
    label: `${request.repo}/${request.file}`,
  };
  try {
    mkdirSync(dirname(finalPath), { recursive: true });
  } catch (e) {
    throw new Specter2Error("OUTPUT_ERROR", (e as Error).message, { file: dirname(finalPath) }, { cause: e });
  }
  const record = readRecord(dir, request.file);
  // With requireSha256 a file kept without verification is fetched again (and refused if the Hub still gives no hash).
  const skip = record?.state === "complete" && record.url === t.url && (record.verified || options.requireSha256 !== true) && matchesRecord(finalPath, record);
  if (skip) {
    const hash = record.verified ? { hash: record.hash ?? "sha256" } : {};
    return { ...describe(t, "skipped", record.size, 0, 0, record.verified, record.commit), ...hash, ...provenance(t, record.etag, record.repo) };
  }
  // Whatever is under the final name is not known to be good: gone, so a failure below leaves nothing there.
  rmSync(finalPath, { force: true });
  const resumable = record?.state === "partial" && record.url === t.url && record.etag !== undefined && existsSync(t.partialPath);
  if (!resumable) rmSync(t.partialPath, { force: true });
  return fetchFrom(t, resumable ? statSync(t.partialPath).size : 0, resumable ? record.etag : undefined);
}

/** Fetches the file from byte `from` on (0: all of it); `etag` is the version the partial bytes belong to. */
async function fetchFrom(t: Transfer, from: number, etag: string | undefined): Promise<DownloadedFile> {
  const hubOrigin = new URL(t.hub.endpoint).origin;
  const { hub, response, url } = await getFollowingRedirects(t.url, { hubOrigin, token: t.hub.token, rangeStart: from }).catch((e: Error) => {
    const status = e instanceof HubError ? e.status : undefined;
    throw new HubError(`${t.label}: ${e.message}; run the command again to resume (finished files are kept)`, { url: (e as HubError).url ?? t.url, status }, { cause: e });
  });
  const status = response.statusCode ?? 0;
  const meta = hubFileMetadata(hub);
  const redirectedTo = repoOfResolveUrl(t.hub.endpoint, hub.url);
  const restart = () => {
    response.destroy();
    rmSync(t.partialPath, { force: true });
    return fetchFrom(t, 0, undefined);
  };
  if (from > 0 && status === 416) return restart(); // the partial file is not shorter than the file: start over
  // An optional file the repo lacks; a missing repo or revision is still an error.
  if (status === 404 && t.request.optional && headerValue(response.headers, "x-error-code") === "EntryNotFound") {
    response.resume();
    removeRecord(t.dir, t.request.file);
    return { ...describe(t, "absent", 0, 0, 0, false, meta.commit), ...provenance(t, undefined, redirectedTo) };
  }
  if (status !== 200 && status !== 206) {
    response.resume();
    throw hubStatusError(status, (name) => headerValue(response.headers, name), url, t.request, {
      tokenName: "HF_TOKEN",
      tokenSent: t.hub.token !== undefined,
      retry: "run again later: finished files are kept and partial ones resume",
    });
  }
  if (from > 0 && meta.etag !== etag) return restart(); // the Hub now serves another version of the file
  const expected = expectedHash(t.request.file, meta);
  if (expected === undefined && t.options.requireSha256 === true) {
    response.destroy();
    throw new HubError(
      `${t.label}: the Hub gave no ${isWeightsFile(t.request.file) ? "LFS sha256 (X-Linked-Etag)" : "sha256 or git sha1 (ETag)"} to verify it against, and --require-sha256 asks for one (from ${url})`,
      { url, file: t.finalPath },
    );
  }

  let extent: { start: number; total: number | undefined };
  try {
    extent = bodyExtent(response, url, from, meta.size);
  } catch (e) {
    response.destroy();
    throw e;
  }
  const { start, total } = extent;
  writeRecord(t.dir, t.request.file, { state: "partial", url: t.url, etag: meta.etag, size: total });

  const hash = createHash("sha256");
  if (start > 0) hashFile(t.partialPath, [hash]);
  const started = Date.now();
  const received = await writeBody(t, response, url, start, total, hash);
  const seconds = (Date.now() - started) / 1000;

  const sha256 = hash.digest("hex");
  const actual = expected?.hash === "git-sha1" ? blobHashes(t.partialPath).gitSha1 : sha256;
  if (expected !== undefined && actual !== expected.value) {
    discardPartial(t);
    const says = expected.hash === "sha256" ? "the Hub says" : "the Hub's ETag says";
    throw new HubError(
      `${t.label}: ${expected.hash} mismatch, ${says} ${expected.value} but the downloaded bytes have ${actual} (from ${url}); the corrupt download was deleted, run again to retry`,
      { url, file: t.finalPath },
    );
  }
  renameSync(t.partialPath, t.finalPath);
  const complete: CompleteRecord = {
    state: "complete",
    url: t.url,
    etag: meta.etag,
    size: received,
    sha256,
    verified: expected !== undefined,
    ...(expected === undefined ? {} : { hash: expected.hash }),
    commit: meta.commit,
    ...(redirectedTo === undefined || redirectedTo === t.request.repo ? {} : { repo: redirectedTo }),
  };
  writeRecord(t.dir, t.request.file, complete);
  return {
    ...describe(t, start > 0 ? "resumed" : "downloaded", received, received - start, seconds, complete.verified, meta.commit),
    ...(expected === undefined ? {} : { hash: expected.hash }),
    ...provenance(t, meta.etag, redirectedTo),
  };
}

/** The hash the Hub gives for the file: a weights file's LFS sha256 only (a git sha1 ETag next to a weights file may
 *  be its LFS pointer's), any other file's sha256 or git sha1. */
function expectedHash(file: string, meta: HubFileMetadata): { hash: BlobHash; value: string } | undefined {
  if (meta.sha256 !== undefined) return { hash: "sha256", value: meta.sha256 };
  if (meta.gitSha1 !== undefined && !isWeightsFile(file)) return { hash: "git-sha1", value: meta.gitSha1 };
  return undefined;
}

/**
 * Where the body starts in the file and the file's size (the Hub's X-Linked-Size first): a 206 holds the rest
 * of the file from `from`, a 200 the whole file (a server that ignores Range: the file starts over).
 */
function bodyExtent(response: IncomingMessage, url: string, from: number, hubSize: number | undefined): { start: number; total: number | undefined } {
  if (response.statusCode === 206) {
    const range = parseContentRange(headerValue(response.headers, "content-range"), url);
    if (range.start !== from) throw new HubError(`${url} answered a request for bytes ${from}- with bytes ${range.start}-`, { url, status: 206 });
    return { start: from, total: hubSize ?? range.total };
  }
  const length = headerValue(response.headers, "content-length");
  return { start: 0, total: hubSize ?? (length === undefined ? undefined : Number(length)) };
}

/** Appends the body to the partial file; returns the partial file's size, which must be `total` when known. */
async function writeBody(t: Transfer, response: IncomingMessage, url: string, start: number, total: number | undefined, hash: Hash): Promise<number> {
  const out = await open(t.partialPath, start > 0 ? "a" : "w").catch((e: Error) => {
    throw new Specter2Error("OUTPUT_ERROR", e.message, { file: t.partialPath }, { cause: e });
  });
  const fileProgress = t.progress.file(t.label, start, total);
  const limit = total ?? UNANNOUNCED_SIZE_CAPS[isWeightsFile(t.request.file) ? "weights" : "other"];
  let received = start;
  let tooLong = false;
  let writeError: Error | undefined;
  try {
    for await (const chunk of response as AsyncIterable<Buffer>) {
      if (received + chunk.length > limit) {
        tooLong = true;
        break;
      }
      try {
        await out.write(chunk);
      } catch (e) {
        writeError = e as Error; // a local problem (disk full, …), not the connection's
        break;
      }
      hash.update(chunk);
      received += chunk.length;
      fileProgress.advance(chunk.length);
    }
  } catch (e) {
    throw interrupted(t, url, received, total, (e as Error).message);
  } finally {
    fileProgress.end();
    await out.close();
  }
  if (writeError) throw new Specter2Error("OUTPUT_ERROR", `cannot write ${t.partialPath}: ${writeError.message}`, { file: t.partialPath }, { cause: writeError });
  if (tooLong) {
    response.destroy();
    discardPartial(t);
    if (total !== undefined) throw new HubError(`${url} sent more than the ${total} bytes of ${t.label} the Hub announced; the download was deleted, run again to retry`, { url });
    throw new HubError(
      `${url} announced no size for ${t.label} and sent more than the ${limit} bytes such a file may hold (${isWeightsFile(t.request.file) ? "a weights file" : "not a weights file"}); the download was deleted`,
      { url, file: t.finalPath },
    );
  }
  if (total !== undefined && received < total) throw interrupted(t, url, received, total, "the connection closed early");
  return received;
}

function interrupted(t: Transfer, url: string, received: number, total: number | undefined, why: string): HubError {
  return new HubError(`download of ${t.label} from ${url} broke off after ${received} of ${total ?? "?"} bytes (${why}); run the command again to resume it`, { url });
}

function discardPartial(t: Transfer): void {
  rmSync(t.partialPath, { force: true });
  removeRecord(t.dir, t.request.file);
}

function describe(t: Transfer, outcome: DownloadOutcome, bytes: number, transferred: number, seconds: number, verified: boolean, commit: string | undefined): DownloadedFile {
  return { repo: t.request.repo, file: t.request.file, path: t.finalPath, outcome, bytes, transferred, seconds, verified, commit };
}

/** The optional fields: only those known, and the redirect only where it went to another repo. */
function provenance(t: Transfer, etag: string | undefined, repo: string | undefined): Pick<DownloadedFile, "etag" | "resolvedRepo"> {
  return { ...(etag === undefined ? {} : { etag }), ...(repo === undefined || repo === t.request.repo ? {} : { resolvedRepo: repo }) };
}

function matchesRecord(path: string, record: CompleteRecord): boolean {
  if (!existsSync(path) || statSync(path).size !== record.size) return false;
  return fileDigest(path).sha256 === record.sha256;
}

// What we know about a downloaded (or half-downloaded) file, kept next to it in `.download/<file>.json`: a rerun
// skips a complete file without asking the Hub, and resumes a partial one only if the Hub still serves the
// same version of it.

export const RECORDS_DIR = ".download";

interface RecordBase {
  /** The `resolve` URL, so a different endpoint or revision is never taken for this one. */
  url: string;
  etag: string | undefined;
}

interface PartialRecord extends RecordBase {
  state: "partial";
  size: number | undefined;
}

interface CompleteRecord extends RecordBase {
  state: "complete";
  size: number;
  /** Of the bytes on disk. */
  sha256: string;
  /** Whether the file was checked against a hash the Hub gave, and which (absent in records of a version that
   *  checked sha256s only). */
  verified: boolean;
  hash?: BlobHash;
  commit: string | undefined;
  /** The repo's current name, where the Hub redirected the one asked for (a renamed repo). */
  repo?: string;
}

type DownloadRecord = PartialRecord | CompleteRecord;

function recordPath(dir: string, file: string): string {
  return join(dir, RECORDS_DIR, `${file}.json`);
}

/** The record, or undefined when there is none or it is unreadable (then the file is simply fetched again). */
function readRecord(dir: string, file: string): DownloadRecord | undefined {
  const path = recordPath(dir, file);
  if (!existsSync(path)) return undefined;
  try {
    const record = JSON.parse(readFileSync(path, "utf8")) as DownloadRecord;
    return record.state === "partial" || record.state === "complete" ? record : undefined;
  } catch {
    return undefined;
  }
}

function writeRecord(dir: string, file: string, record: DownloadRecord): void {
  const path = recordPath(dir, file);
  mkdirSync(dirname(path), { recursive: true });
  writeFileAtomic(path, `${JSON.stringify(record, null, 2)}\n`);
}

function removeRecord(dir: string, file: string): void {
  rmSync(recordPath(dir, file), { force: true });
}

// Download progress on stderr (or nowhere, for the library): on a terminal a redrawn line per file (bytes / total,
// MB/s); otherwise only the one line each file ends with (describeFile), so logs stay short. A listener gets the bytes
// of every transfer together (the library's onProgress).

const REDRAW_INTERVAL_MS = 100;

export interface FileProgress {
  /** `bytes` more arrived. */
  advance(bytes: number): void;
  /** Clears the redrawn line (the file's outcome is then printed with `DownloadProgress.line`). */
  end(): void;
}

export class DownloadProgress {
  private readonly tty: boolean;
  /** Of every transfer so far: the bytes there are (those already on disk included) and the sizes announced. */
  private loaded = 0;
  private total = 0;

  constructor(
    private readonly stream: NodeJS.WriteStream | null = process.stderr,
    private readonly onProgress?: (p: Progress) => void,
  ) {
    this.tty = Boolean(stream?.isTTY);
  }

  /** Tracks one transfer of `label`, which starts at byte `from` of `total`. */
  file(label: string, from: number, total: number | undefined): FileProgress {
    this.loaded += from;
    this.total += total ?? 0;
    const listener = this.onProgress;
    const report = listener ? () => listener({ file: label, loaded: this.loaded, total: this.total }) : () => undefined;
    report();
    const counted = (bytes: number) => {
      this.loaded += bytes;
      report();
    };
    if (!this.tty || this.stream === null) return { advance: counted, end: () => undefined };
    const stream = this.stream;
    const started = Date.now();
    let done = from;
    let drawn = 0;
    const draw = (now: number) => {
      const rate = formatRate(done - from, now - started);
      stream.write(`\r\x1b[K${label}  ${formatBytes(done)}${total === undefined ? "" : ` / ${formatBytes(total)}`}  ${rate}`);
      drawn = now;
    };
    draw(started);
    return {
      advance: (bytes) => {
        counted(bytes);
        done += bytes;
        const now = Date.now();
        if (now - drawn >= REDRAW_INTERVAL_MS) draw(now);
      },
      end: () => stream.write("\r\x1b[K"),
    };
  }

  line(text: string): void {
    this.stream?.write(`${text}\n`);
  }
}

/** Decimal megabytes, as download sizes are usually quoted. */
export function formatBytes(bytes: number): string {
  if (bytes < 1e3) return `${bytes} B`;
  if (bytes < 1e6) return `${(bytes / 1e3).toFixed(1)} kB`;
  if (bytes < 1e9) return `${(bytes / 1e6).toFixed(1)} MB`;
  return `${(bytes / 1e9).toFixed(2)} GB`;
}

function formatRate(bytes: number, ms: number): string {
  return ms > 0 ? `${(bytes / 1e6 / (ms / 1000)).toFixed(1)} MB/s` : "- MB/s";
}

/** The line a file ends with on stderr, once downloaded, skipped, found absent or read from the cache. */
export function describeFile(f: DownloadedFile): string {
  const name = `${f.repo}/${f.file}`;
  switch (f.outcome) {
    case "absent":
      return `${name}: not in the repo (optional)`;
    case "skipped":
      return `${name}: already complete (${formatBytes(f.bytes)}), skipped`;
    case "cached":
      return `${name}: ${formatBytes(f.bytes)} from the Hugging Face cache, ${verification(f)}`;
    case "downloaded":
    case "resumed": {
      const resumed = f.outcome === "resumed" ? ` (resumed at ${formatBytes(f.bytes - f.transferred)})` : "";
      const rate = formatRate(f.transferred, f.seconds * 1000);
      return `${name}: ${formatBytes(f.bytes)}${resumed} in ${f.seconds.toFixed(1)} s (${rate}), ${verification(f)}`;
    }
  }
}

/** How the file was checked, in words: "verified" only where a hash was compared, never for a size alone. */
export function verification(f: DownloadedFile): string {
  if (f.outcome === "cached") return f.verified ? `${f.hash ?? "sha256"} verified (the blob's name)` : "not verified (a copy, not a link to a named blob)";
  if (f.verified) return `${f.hash ?? "sha256"} verified`;
  return `not verified (${isWeightsFile(f.file) ? "the Hub gave no LFS sha256 for this weights file" : "the Hub gave no sha256 or git sha1 for it"})`;
}
