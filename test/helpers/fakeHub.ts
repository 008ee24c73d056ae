// A local stand-in for the Hugging Face Hub, on 127.0.0.1 only: serves folders as repos the way `resolve`
// URLs do. Small files come straight from the Hub (ETag = git blob sha1); .bin/.safetensors files are LFS:
// a 302 to the "CDN" with X-Linked-Etag (sha256) and X-Linked-Size, its own ETag the git sha1 of the LFS pointer
// file (not of the file). The CDN is the same server under another host name (localhost), so a client that forwards
// its token across hosts is caught, and a page sees the redirect go to another origin. As the Hub: the API's
// `/api/models/{repo}/revision/{rev}` (with `?blobs=true`, each file's git sha1 and size, and an LFS file's sha256),
// CORS headers on every answer (preflights too), 401 RepoNotFound for a repo that is not there (as for a private
// one), 404 EntryNotFound for a file. Switches make it a careless or hostile mirror (dropped headers, altered
// bytes, chunked bodies with no length).
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";

/**
 * SPECTER2's repos made of the converter's tiny PyTorch-written fixtures (test/fixtures/convert/): the same
 * files as the real repos, a few kB each. ln_shared also holds prediction heads, which must never be fetched.
 */
const CONVERT_FIXTURES = join(__dirname, "..", "fixtures", "convert");
export const SPECTER2_FIXTURE_REPOS: Record<string, string> = {
  "allenai/specter2_base": join(CONVERT_FIXTURES, "bin_prefixed", "base"),
  "allenai/specter2": join(CONVERT_FIXTURES, "adapters", "houlsby_preset"),
  "allenai/specter2_adhoc_query": join(CONVERT_FIXTURES, "adapters", "ln_shared"),
  "allenai/specter2_classification": join(CONVERT_FIXTURES, "adapters", "houlsby_preset"),
  "allenai/specter2_regression": join(CONVERT_FIXTURES, "adapters", "ln_shared"),
};

/**
 * The aug2023refresh variant's repos, of other fixtures than the original's so that a mix-up shows: its base
 * has only config.json, vocab.txt and pytorch_model.bin (the tokenizer files are optional), and the adapters swap.
 */
export const AUG2023_FIXTURE_REPOS: Record<string, string> = {
  "allenai/specter2_aug2023refresh_base": join(CONVERT_FIXTURES, "bin_bf16", "base"),
  "allenai/specter2_aug2023refresh": join(CONVERT_FIXTURES, "adapters", "ln_shared"),
  "allenai/specter2_aug2023refresh_adhoc_query": join(CONVERT_FIXTURES, "adapters", "houlsby_preset"),
  "allenai/specter2_aug2023refresh_classification": join(CONVERT_FIXTURES, "adapters", "ln_shared"),
  "allenai/specter2_aug2023refresh_regression": join(CONVERT_FIXTURES, "adapters", "houlsby_preset"),
};

/** A user's own adapter: adapter.safetensors (no pytorch_adapter.bin), another config style. */
export const USER_ADAPTER_REPO = "someone/my-adapter";
export const USER_FIXTURE_REPOS: Record<string, string> = { [USER_ADAPTER_REPO]: join(CONVERT_FIXTURES, "adapters", "legacy_gelu") };

/** The first release's names, which the Hub answers with a redirect to the current ones. */
export const FIRST_RELEASE_RENAMES: Record<string, string> = {
  "allenai/specter_plus_plus": "allenai/specter2_base",
  "allenai/spp_proximity": "allenai/specter2",
  "allenai/spp_adhoc_query": "allenai/specter2_adhoc_query",
  "allenai/spp_classification": "allenai/specter2_classification",
  "allenai/spp_regression": "allenai/specter2_regression",
};

/** Every fixture repo: both variants and the user's adapter. */
export const ALL_FIXTURE_REPOS: Record<string, string> = { ...SPECTER2_FIXTURE_REPOS, ...AUG2023_FIXTURE_REPOS, ...USER_FIXTURE_REPOS };

export const FAKE_COMMIT = "0123456789abcdef0123456789abcdef01234567";
const LFS_FILE = /\.(bin|safetensors)$/;

export interface FakeHubOptions {
  /** Repo id (owner/name) → folder whose top-level files it holds at revision "main". */
  repos: Record<string, string>;
  /** When set, every request to the Hub (not the CDN) must carry `Authorization: Bearer <token>`. */
  token?: string;
  /** Old repo id → current one: answered with a relative redirect, as the Hub does for renamed repos. */
  renamed?: Record<string, string>;
}

export interface LoggedRequest {
  on: "hub" | "cdn";
  path: string;
  /** `repo/file` the request is for, when it is one. */
  file: string | undefined;
  authorization: string | undefined;
  range: string | undefined;
}

interface ServedFile {
  key: string;
  bytes: Buffer;
  sha256: string;
  gitSha1: string;
}

/** The headers the Hub lets a page read (its Access-Control-Expose-Headers). */
const EXPOSED_HEADERS = "X-Repo-Commit,X-Request-Id,X-Error-Code,X-Error-Message,X-Total-Count,ETag,Link,Accept-Ranges,Content-Range,X-Linked-Size,X-Linked-ETag";

export class FakeHub {
  readonly requests: LoggedRequest[] = [];
  /** `repo/file` keys served with one byte flipped (their headers still announce the true sha256). */
  readonly corrupt = new Set<string>();
  /** `repo/file` → bytes after which the next response for it is cut off (once). */
  readonly dropAfter = new Map<string, number>();
  /** `repo/file` → the size the Hub announces (X-Linked-Size) instead of the true one. */
  readonly announcedSize = new Map<string, number>();
  /** Serves whole files (200) whatever Range asks, as some servers do. */
  ignoreRange = false;
  /** A mirror that drops X-Linked-Etag and X-Linked-Size from its redirects (keeping the redirect's own ETag). */
  dropLinkedHeaders = false;
  /** `repo/file` → how many bytes to send for it, chunked with no length: its bytes, then filler (a bounded stand-in
   *  for an endless body). */
  readonly chunkedTo = new Map<string, number>();

  private constructor(
    private readonly server: http.Server,
    private readonly files: Map<string, ServedFile>,
    private readonly options: FakeHubOptions,
  ) {}

  static async start(options: FakeHubOptions): Promise<FakeHub> {
    const files = new Map<string, ServedFile>();
    for (const [repo, dir] of Object.entries(options.repos)) {
      for (const name of readdirSync(dir).filter((n) => statSync(join(dir, n)).isFile())) {
        const bytes = readFileSync(join(dir, name));
        const key = `${repo}/${name}`;
        files.set(key, {
          key,
          bytes,
          sha256: createHash("sha256").update(bytes).digest("hex"),
          gitSha1: createHash("sha1").update(`blob ${bytes.length}\0`).update(bytes).digest("hex"),
        });
      }
    }
    const server = http.createServer((req, res) => hub.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const hub = new FakeHub(server, files, options);
    return hub;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** For HF_ENDPOINT. */
  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  private get cdn(): string {
    return `http://localhost:${this.port}`;
  }

  /** Requests so far, on the Hub and the CDN (a run that must not touch the network leaves it at 0). */
  get requestCount(): number {
    return this.requests.length;
  }

  /** The repos asked for on the Hub (by the path of their resolve URLs), in the order first asked. */
  reposAsked(): string[] {
    return [...new Set(this.requests.filter((r) => r.on === "hub" && r.file !== undefined).map((r) => /^\/(.+)\/resolve\//.exec(r.path)![1]))];
  }

  /** The requests made for `repo/file`, on the Hub and the CDN. */
  requestsFor(key: string): LoggedRequest[] {
    return this.requests.filter((r) => r.file === key);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? "/", "http://x");
    const path = decodeURIComponent(url.pathname);
    const on = req.headers.host === `localhost:${this.port}` ? "cdn" : "hub";
    const cdnFile = on === "cdn" && path.startsWith("/cdn/") ? [...this.files.values()].find((f) => `/cdn/${f.sha256}` === path) : undefined;
    const resolve = on === "hub" ? /^\/(.+)\/resolve\/([^/]+)\/(.+)$/.exec(path) : null;
    const api = on === "hub" ? /^\/api\/models\/([^/]+\/[^/]+)\/revision\/([^/]+)$/.exec(path) : null;
    this.requests.push({
      on,
      path: `${req.method === "OPTIONS" ? "OPTIONS " : ""}${path}`,
      file: req.method === "OPTIONS" ? undefined : (cdnFile?.key ?? (resolve ? `${resolve[1]}/${resolve[3]}` : undefined)),
      authorization: req.headers.authorization,
      range: req.headers.range,
    });
    // CORS as the Hub answers a page: the origin echoed, the file's headers readable, preflights granted.
    const origin = req.headers.origin;
    if (origin !== undefined) {
      res.setHeader("access-control-allow-origin", on === "cdn" ? "*" : origin);
      res.setHeader("access-control-expose-headers", EXPOSED_HEADERS);
      res.setHeader("vary", "Origin");
    }
    if (req.method === "OPTIONS") {
      res.writeHead(204, {
        "access-control-allow-methods": "GET, HEAD, OPTIONS",
        "access-control-allow-headers": req.headers["access-control-request-headers"] ?? "",
        "access-control-max-age": "86400",
      });
      res.end();
      return;
    }
    if (cdnFile) return this.sendBytes(req, res, cdnFile, {});
    const route = resolve ?? (api ? [api[0], api[1], api[2]] : null);
    if (!route) return error(res, 404, "NotFound", `no route for ${on} ${path}`);
    if (this.options.token !== undefined && req.headers.authorization !== `Bearer ${this.options.token}`) {
      return error(res, 401, "GatedRepo", `Access to model ${route[1]} is restricted. You must be authenticated to access it.`);
    }
    const [, repo, revision] = route;
    const renamed = this.options.renamed?.[repo];
    if (renamed !== undefined) {
      res.writeHead(307, { location: resolve ? `/${renamed}/resolve/${revision}/${resolve[3]}` : `/api/models/${renamed}/revision/${revision}${url.search}` }).end();
      return;
    }
    // As the Hub: a missing repo is not told apart from a private one.
    if (!Object.hasOwn(this.options.repos, repo)) return error(res, 401, "RepoNotFound", `Repository Not Found for url: ${this.endpoint}${path}.`);
    if (revision !== "main" && revision !== FAKE_COMMIT) return error(res, 404, "RevisionNotFound", `Invalid rev id: ${revision}`);
    if (api) return this.sendListing(res, repo, url.searchParams.get("blobs") === "true");
    const name = resolve![3];
    const file = this.files.get(`${repo}/${name}`);
    if (!file) return error(res, 404, "EntryNotFound", `${name} does not exist on "${revision}"`);
    const meta = { "x-repo-commit": FAKE_COMMIT };
    if (LFS_FILE.test(name)) {
      const linked = this.dropLinkedHeaders ? {} : { "x-linked-etag": `"${file.sha256}"`, "x-linked-size": String(this.announcedSize.get(file.key) ?? file.bytes.length) };
      res.writeHead(302, { ...meta, location: `${this.cdn}/cdn/${file.sha256}`, etag: `"${lfsPointerSha1(file)}"`, ...linked }).end();
      return;
    }
    this.sendBytes(req, res, file, { ...meta, etag: `"${file.gitSha1}"` });
  }

  /** The API's answer about a repo at a revision: its commit and files (with blobs=true, each one's git sha1 and
   *  size, and an LFS file's sha256 and size, as the Hub gives them). */
  private sendListing(res: ServerResponse, repo: string, blobs: boolean): void {
    const siblings = [...this.files.values()]
      .filter((f) => f.key.startsWith(`${repo}/`))
      .map((f) => {
        const rfilename = f.key.slice(repo.length + 1);
        if (!blobs) return { rfilename };
        const lfs = LFS_FILE.test(rfilename);
        const pointer = lfsPointer(f);
        return {
          rfilename,
          blobId: lfs ? gitBlobSha1(Buffer.from(pointer)) : f.gitSha1,
          size: f.bytes.length,
          ...(lfs ? { lfs: { sha256: f.sha256, size: f.bytes.length, pointerSize: Buffer.byteLength(pointer) } } : {}),
        };
      });
    res.writeHead(200, { "content-type": "application/json", "x-repo-commit": FAKE_COMMIT });
    res.end(JSON.stringify({ _id: createHash("sha1").update(repo).digest("hex").slice(0, 24), id: repo, modelId: repo, sha: FAKE_COMMIT, private: false, siblings }));
  }

  private sendBytes(req: IncomingMessage, res: ServerResponse, file: ServedFile, headers: http.OutgoingHttpHeaders): void {
    const chunkedTo = this.chunkedTo.get(file.key);
    if (chunkedTo !== undefined) return sendChunked(res, file.bytes, chunkedTo, headers);
    let bytes = file.bytes;
    if (this.corrupt.has(file.key)) {
      bytes = Buffer.from(bytes);
      bytes[bytes.length >> 1] ^= 0xff;
    }
    let start = 0;
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? "");
    if (range && !this.ignoreRange) {
      start = Number(range[1]);
      if (start >= bytes.length) {
        res.writeHead(416, { "content-range": `bytes */${bytes.length}` }).end();
        return;
      }
      headers = { ...headers, "content-range": `bytes ${start}-${bytes.length - 1}/${bytes.length}` };
    }
    res.writeHead(start > 0 ? 206 : 200, { ...headers, "accept-ranges": "bytes", "content-length": String(bytes.length - start) });
    const body = bytes.subarray(start);
    const drop = this.dropAfter.get(file.key);
    if (drop === undefined) {
      res.end(body);
      return;
    }
    this.dropAfter.delete(file.key);
    // A pause before cutting off, so the client has read the bytes (a destroyed stream drops what it buffered).
    res.write(body.subarray(0, drop), () => setTimeout(() => res.destroy(), 100));
  }
}

/** The LFS pointer file git stores in place of `file`. */
function lfsPointer(file: ServedFile): string {
  return `version https://git-lfs.github.com/spec/v1\noid sha256:${file.sha256}\nsize ${file.bytes.length}\n`;
}

/** The git blob sha1 of the LFS pointer file of `file`: what the Hub's own ETag is for an LFS file. */
function lfsPointerSha1(file: ServedFile): string {
  return gitBlobSha1(Buffer.from(lfsPointer(file)));
}

function gitBlobSha1(bytes: Buffer): string {
  return createHash("sha1").update(`blob ${bytes.length}\0`).update(bytes).digest("hex");
}

/** `bytes`, then 1 MiB chunks of filler up to `total` bytes, with no Content-Length; stops when the client goes away. */
function sendChunked(res: ServerResponse, bytes: Buffer, total: number, headers: http.OutgoingHttpHeaders): void {
  res.writeHead(200, headers);
  res.write(bytes);
  let left = total - bytes.length;
  const filler = Buffer.alloc(1 << 20, 0x61);
  const pump = () => {
    while (!res.destroyed && left > 0) {
      const chunk = filler.subarray(0, Math.min(filler.length, left));
      left -= chunk.length;
      if (!res.write(chunk)) return void res.once("drain", pump);
    }
    if (!res.destroyed) res.end();
  };
  res.once("close", () => res.removeAllListeners("drain"));
  pump();
}

function error(res: ServerResponse, status: number, code: string, message: string): void {
  res.writeHead(status, { "x-error-code": code, "x-error-message": message, "content-type": "application/json" });
  res.end(JSON.stringify({ error: message }));
}
