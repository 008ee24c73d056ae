// The Hub over HTTP from Node: where it is (HF_ENDPOINT, HF_TOKEN), a GET that follows redirects itself, and what
// the Hub's answer says about the file (the `resolve` URL and the messages for its errors: src/weights/hub/hubErrors.ts).
import type { IncomingHttpHeaders, IncomingMessage } from "node:http";
import http from "node:http";
import https from "node:https";
import { HubError } from "../weights/hub/hubErrors";

// Where the Hub is, and a repo's local folder name.

export interface HubConnection {
  /** e.g. https://huggingface.co, without a trailing slash. */
  endpoint: string;
  token?: string;
}

const DEFAULT_HUB_ENDPOINT = "https://huggingface.co";

/** HF_ENDPOINT as huggingface_hub reads it (a mirror or a test server), without a trailing slash. */
export function hubEndpoint(env: NodeJS.ProcessEnv = process.env): string {
  const endpoint = env.HF_ENDPOINT?.trim() || DEFAULT_HUB_ENDPOINT;
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new HubError(`HF_ENDPOINT ${JSON.stringify(endpoint)} is not a URL`, { field: "HF_ENDPOINT" });
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new HubError(`HF_ENDPOINT ${endpoint} is not an http(s) URL`, { url: endpoint, field: "HF_ENDPOINT" });
  return endpoint.replace(/\/+$/, "");
}

/** HF_TOKEN, or undefined when unset or blank. */
export function hubToken(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env.HF_TOKEN?.trim() || undefined;
}

/** `allenai/specter2_base` → `allenai--specter2_base`: one folder per repo, no nesting. */
export function repoFolderName(repo: string): string {
  return repo.split("/").join("--");
}

/**
 * The repo a `resolve` URL of this endpoint names (`…/{owner}/{name}/resolve/…`), or undefined: after the
 * Hub's redirects, the current name of a renamed repo.
 */
export function repoOfResolveUrl(endpoint: string, url: string): string | undefined {
  const base = new URL(endpoint);
  const target = new URL(url);
  if (target.origin !== base.origin) return undefined;
  const prefix = base.pathname.replace(/\/+$/, "");
  if (!target.pathname.startsWith(`${prefix}/`)) return undefined;
  const match = /^\/([^/]+\/[^/]+)\/resolve\//.exec(target.pathname.slice(prefix.length));
  return match ? decodeURIComponent(match[1]) : undefined;
}

// A GET that follows redirects itself, so that the Hub's own response (which carries an LFS file's sha256
// and size before redirecting to the CDN) is seen, and the token goes to the Hub's origin only.

export const MAX_REDIRECTS = 10;
/** A connection silent this long (no headers, no body bytes) is given up; a rerun resumes. */
const IDLE_TIMEOUT_MS = 60_000;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

export interface GetOptions {
  /** The Hub's origin (scheme, host, port). */
  hubOrigin: string;
  /** Sent as `Authorization: Bearer …` to the Hub's origin only, never to a redirect elsewhere. */
  token?: string;
  /** Asks for the bytes from this offset on (`Range: bytes=N-`). */
  rangeStart?: number;
}

export interface HubResponse {
  url: string;
  status: number;
  headers: IncomingHttpHeaders;
}

export interface GetResult {
  /**
   * The Hub's own answer: the last response before the first hop off the Hub's origin (so after a redirect
   * within the Hub, for a renamed repo, and before the redirect to the CDN).
   */
  hub: HubResponse;
  /** The response after the last redirect, its body not yet read. */
  response: IncomingMessage;
  url: string;
}

export async function getFollowingRedirects(url: string, options: GetOptions): Promise<GetResult> {
  let hub: HubResponse | undefined;
  let onHub = true;
  let current = url;
  for (let redirects = 0; ; redirects++) {
    const response = await get(current, requestHeaders(current, options));
    const status = response.statusCode ?? 0;
    onHub &&= new URL(current).origin === options.hubOrigin;
    if (onHub || hub === undefined) hub = { url: current, status, headers: response.headers };
    if (!REDIRECT_STATUSES.has(status)) return { hub, response, url: current };
    response.resume(); // a redirect's body is not wanted; reading it frees the connection
    const location = response.headers.location;
    if (!location) throw new HubError(`${current} answered ${status} (a redirect) without a Location header`, { url: current, status });
    if (redirects === MAX_REDIRECTS) throw new HubError(`${url}: more than ${MAX_REDIRECTS} redirects (last to ${location})`, { url, status });
    current = new URL(location, current).href; // a relative Location is relative to the URL that sent it
  }
}

function requestHeaders(url: string, options: GetOptions): http.OutgoingHttpHeaders {
  const headers: http.OutgoingHttpHeaders = {
    "user-agent": "specter2-tfjs",
    // Byte counts, ranges and hashes are about the file itself, not a compressed transfer of it.
    "accept-encoding": "identity",
  };
  if (options.token !== undefined && new URL(url).origin === options.hubOrigin) {
    headers.authorization = `Bearer ${options.token}`;
  }
  if (options.rangeStart !== undefined && options.rangeStart > 0) headers.range = `bytes=${options.rangeStart}-`;
  return headers;
}

function get(url: string, headers: http.OutgoingHttpHeaders): Promise<IncomingMessage> {
  const protocol = new URL(url).protocol;
  if (protocol !== "http:" && protocol !== "https:") return Promise.reject(new HubError(`${url}: not an http(s) URL`, { url }));
  const client = protocol === "https:" ? https : http;
  return new Promise((resolve, reject) => {
    const request = client.get(url, { headers }, resolve);
    request.setTimeout(IDLE_TIMEOUT_MS, () => {
      request.destroy(new Error(`no data from ${url} for ${IDLE_TIMEOUT_MS / 1000} s`));
    });
    request.on("error", (e) => reject(new HubError(`${url}: ${e.message}`, { url }, { cause: e })));
  });
}

// What the Hub's answer to a `resolve` URL says about the file: its version (etag), its sha256 when it
// is an LFS file, its size, and the commit the revision points at.

export interface HubFileMetadata {
  /** Identifies this version of the file: the LFS sha256 or the git blob sha1, unquoted. */
  etag: string | undefined;
  /** The file's sha256: only LFS files have one, in X-Linked-Etag (the redirect's own ETag is not the file's). */
  sha256: string | undefined;
  /** The git blob sha1 (`sha1("blob <size>\0" + bytes)`) that the Hub's ETag is for a file it answers with itself
   *  (a small, non-LFS file); undefined for a redirect or where X-Linked-Etag is present (the ETag is then the LFS
   *  pointer's, not the file's). */
  gitSha1: string | undefined;
  size: number | undefined;
  commit: string | undefined;
}

const SHA256 = /^[0-9a-f]{64}$/;
const GIT_SHA1 = /^[0-9a-f]{40}$/;

export function hubFileMetadata(hub: HubResponse): HubFileMetadata {
  const h = hub.headers;
  const linkedEtag = unquote(headerValue(h, "x-linked-etag"));
  const ownEtag = unquote(headerValue(h, "etag"));
  const etag = linkedEtag ?? ownEtag;
  const linkedSize = headerValue(h, "x-linked-size");
  // Without X-Linked-Size, the response's own length is the file's only when it is the whole file itself.
  const size = linkedSize ?? (hub.status === 200 ? headerValue(h, "content-length") : undefined);
  return {
    etag,
    sha256: linkedEtag !== undefined && SHA256.test(linkedEtag) ? linkedEtag : undefined,
    gitSha1: linkedEtag === undefined && (hub.status === 200 || hub.status === 206) && ownEtag !== undefined && GIT_SHA1.test(ownEtag) ? ownEtag : undefined,
    size: size === undefined ? undefined : parseSize(size, hub.url),
    commit: headerValue(h, "x-repo-commit"),
  };
}

/** `bytes START-END/TOTAL` of a 206 answer. */
export function parseContentRange(value: string | undefined, url: string): { start: number; total: number | undefined } {
  const match = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(value ?? "");
  if (!match) throw new HubError(`${url} answered 206 with an unreadable Content-Range ${JSON.stringify(value)}`, { url, status: 206 });
  return { start: Number(match[1]), total: match[2] === "*" ? undefined : Number(match[2]) };
}

export function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** `"abc"` or `W/"abc"` → `abc`. */
function unquote(value: string | undefined): string | undefined {
  return value?.replace(/^W\//, "").replace(/^"(.*)"$/, "$1");
}

function parseSize(value: string, url: string): number {
  if (!/^\d+$/.test(value)) throw new HubError(`${url} gave an unreadable file size ${JSON.stringify(value)}`, { url });
  return Number(value);
}
