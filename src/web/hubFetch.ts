// The Hugging Face Hub from a page. fetch follows an LFS file's redirect to the CDN without showing the Hub's own
// answer (its X-Linked-Etag, the sha256), so every file is checked against the API's listing of the repo at a
// revision instead (`/api/models/{repo}/revision/{rev}?blobs=true`: the commit, and each file's size and git blob sha1,
// and an LFS file's sha256). Files are fetched at that commit, with progress in bytes. The listing is kept in the Cache
// API, so that a later load without the network still knows which commit a revision named.
import type { HubAdvice } from "../weights/hub/hubErrors";
import { HubError, hubStatusError, resolveUrl } from "../weights/hub/hubErrors";
import { digestHex } from "./fetchSource";

export const DEFAULT_HUB = "https://huggingface.co";

export interface PageHub {
  /** Without a trailing slash. */
  endpoint: string;
  token?: string;
  /** Where listings are kept (null: nowhere). */
  cache: Cache | null;
}

export interface ListedFile {
  size: number;
  /** The git blob sha1 (of the LFS pointer, for an LFS file). */
  blobId: string;
  /** An LFS file's sha256. */
  sha256?: string;
}

export interface RepoListing {
  repo: string;
  revision: string;
  commit: string;
  files: Map<string, ListedFile>;
  /** The listing was the one kept from an earlier load: the Hub could not be reached. */
  kept: boolean;
}

function advice(hub: PageHub): HubAdvice {
  return { tokenName: "the token option", tokenSent: hub.token !== undefined, retry: "load again later" };
}

function headers(hub: PageHub): HeadersInit {
  return hub.token === undefined ? {} : { authorization: `Bearer ${hub.token}` };
}

/** The repo at `revision`: its commit and files, from the Hub, else (no network) as kept at an earlier load. */
export async function repoListing(hub: PageHub, repo: string, revision: string): Promise<RepoListing> {
  const url = `${hub.endpoint}/api/models/${repo}/revision/${encodeURIComponent(revision)}?blobs=true`;
  let response: Response;
  try {
    response = await fetch(url, { headers: headers(hub), cache: "no-store" });
  } catch (e) {
    const kept = await hub.cache?.match(url);
    if (kept) return parseListing((await kept.json()) as unknown, repo, revision, url, true);
    throw new HubError(
      `${url}: the request failed (no network, or the Hub does not allow this page's origin: CORS), and no listing of ${repo}@${revision} is kept from an earlier load`,
      { url },
      { cause: e },
    );
  }
  if (!response.ok) throw hubStatusError(response.status, (name) => response.headers.get(name) ?? undefined, url, { repo, revision, file: "its file listing" }, advice(hub));
  const json = (await response.json()) as unknown;
  const listing = parseListing(json, repo, revision, url, false);
  try {
    await hub.cache?.put(url, new Response(JSON.stringify(json), { headers: { "content-type": "application/json" } }));
  } catch {
    // Not kept (the quota): a load without the network will say so.
  }
  return listing;
}

function parseListing(json: unknown, repo: string, revision: string, url: string, kept: boolean): RepoListing {
  const value = json as { sha?: unknown; siblings?: unknown } | null;
  if (typeof value?.sha !== "string" || !/^[0-9a-f]{40}$/.test(value.sha) || !Array.isArray(value.siblings)) {
    throw new HubError(`${url}: not the Hub's listing of a repo (no commit "sha" and "siblings")`, { url });
  }
  const files = new Map<string, ListedFile>();
  for (const s of value.siblings as { rfilename?: unknown; size?: unknown; blobId?: unknown; lfs?: { sha256?: unknown } }[]) {
    if (typeof s?.rfilename !== "string" || typeof s.size !== "number" || typeof s.blobId !== "string") {
      throw new HubError(`${url}: a file without its name, size and blobId (${JSON.stringify(s)}): ask with ?blobs=true`, { url });
    }
    const sha256 = typeof s.lfs?.sha256 === "string" ? s.lfs.sha256 : undefined;
    files.set(s.rfilename, { size: s.size, blobId: s.blobId, ...(sha256 === undefined ? {} : { sha256 }) });
  }
  return { repo, revision, commit: value.sha, files, kept };
}

export interface FetchedFile {
  bytes: Uint8Array;
  sha256: string;
  url: string;
}

/** One listed file at the listing's commit, its bytes counted as they arrive, checked against the listing: its size,
 *  and its sha256 (an LFS file) or git blob sha1 (any other). A file that fails is refused, naming its URL. */
export async function fetchRepoFile(hub: PageHub, listing: RepoListing, file: string, onBytes: (bytes: number) => void): Promise<FetchedFile> {
  const url = resolveUrl(hub.endpoint, listing.repo, listing.commit, file);
  const listed = listing.files.get(file);
  if (listed === undefined) throw new HubError(`${url}: ${listing.repo} has no file ${file} at commit ${listing.commit}`, { url, status: 404 });
  let response: Response;
  try {
    response = await fetch(url, { headers: headers(hub) });
  } catch (e) {
    throw new HubError(`${url}: the request failed (no network, or the Hub or its CDN does not allow this page's origin: CORS)`, { url }, { cause: e });
  }
  if (!response.ok) throw hubStatusError(response.status, (name) => response.headers.get(name) ?? undefined, url, { repo: listing.repo, revision: listing.commit, file }, advice(hub));
  const served = response.url !== "" && response.url !== url ? ` (served by ${response.url})` : "";
  const bytes = await readBody(response, listed.size, url, onBytes);
  if (bytes.byteLength !== listed.size) {
    throw new HubError(`${url}: ${bytes.byteLength} bytes, the Hub's listing says ${listed.size}${served}; nothing was kept, load again to retry`, { url });
  }
  const sha256 = await digestHex("SHA-256", bytes);
  if (listed.sha256 !== undefined && sha256 !== listed.sha256) {
    throw new HubError(`${url}: sha256 mismatch, the Hub's listing says ${listed.sha256} but the downloaded bytes have ${sha256}${served}; nothing was kept, load again to retry`, {
      url,
    });
  }
  if (listed.sha256 === undefined) {
    const gitSha1 = await gitBlobSha1(bytes);
    if (gitSha1 !== listed.blobId) {
      throw new HubError(`${url}: git sha1 mismatch, the Hub's listing says ${listed.blobId} but the downloaded bytes have ${gitSha1}${served}; load again to retry`, { url });
    }
  }
  return { bytes, sha256, url };
}

/** The body, counted as it arrives; never more than `limit` bytes are read. */
async function readBody(response: Response, limit: number, url: string, onBytes: (bytes: number) => void): Promise<Uint8Array> {
  const out = new Uint8Array(limit);
  let at = 0;
  if (!response.body) {
    const all = new Uint8Array(await response.arrayBuffer());
    onBytes(all.byteLength);
    return all;
  }
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (at + value.byteLength > limit) {
      await reader.cancel();
      throw new HubError(`${url}: more than the ${limit} bytes the Hub's listing says; nothing was kept`, { url });
    }
    out.set(value, at);
    at += value.byteLength;
    onBytes(value.byteLength);
  }
  return out.subarray(0, at);
}

/** sha1("blob <size>\0" + bytes): git's name for the file, the Hub's blobId. */
async function gitBlobSha1(bytes: Uint8Array): Promise<string> {
  const header = new TextEncoder().encode(`blob ${bytes.byteLength}\0`);
  const whole = new Uint8Array(header.byteLength + bytes.byteLength);
  whole.set(header);
  whole.set(bytes, header.byteLength);
  return digestHex("SHA-1", whole);
}
