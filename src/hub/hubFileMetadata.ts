// What the Hub's answer to a `resolve` URL says about the file: its version (etag), its sha256 when it
// is an LFS file, its size, and the commit the revision points at.
import type { IncomingHttpHeaders } from "node:http";
import type { HubResponse } from "./httpGet";
import { HubError } from "./hubErrors";

export interface HubFileMetadata {
  /** Identifies this version of the file: the LFS sha256 or the git blob sha1, unquoted. */
  etag: string | undefined;
  /** Only LFS files have one (X-Linked-Etag); a small file's ETag is a git sha1, which we do not check. */
  sha256: string | undefined;
  size: number | undefined;
  commit: string | undefined;
}

const SHA256 = /^[0-9a-f]{64}$/;

export function hubFileMetadata(hub: HubResponse): HubFileMetadata {
  const h = hub.headers;
  const linkedEtag = unquote(headerValue(h, "x-linked-etag"));
  const etag = linkedEtag ?? unquote(headerValue(h, "etag"));
  const linkedSize = headerValue(h, "x-linked-size");
  // Without X-Linked-Size, the response's own length is the file's only when it is the whole file itself.
  const size = linkedSize ?? (hub.status === 200 ? headerValue(h, "content-length") : undefined);
  return {
    etag,
    sha256: linkedEtag !== undefined && SHA256.test(linkedEtag) ? linkedEtag : undefined,
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
