// A GET that follows redirects itself, so that the Hub's own response (which carries an LFS file's sha256
// and size before redirecting to the CDN) is seen, and the token goes to the Hub's origin only.
import type { IncomingHttpHeaders, IncomingMessage } from "node:http";
import http from "node:http";
import https from "node:https";
import { HubError } from "./hubErrors";

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
