// A model directory at a URL, exactly as `specter2 convert` / `download` write it, served by any static server:
// files fetched with progress, checked against the manifest (sizes always, sha256 unless told not to) and only then
// kept in the Cache API, so a reload does not download again; a changed manifest changes every file's key.
import { Specter2Error } from "../errors";
import type { Manifest, ModelSource, Progress } from "../weights/modelDir";
import { checkDigest, MANIFEST_FILE } from "../weights/modelDir";

export interface FetchOptions {
  /** Bytes of the model fetched so far (from the network or the cache) of every file the load reads (manifest.json is
   *  in neither; the total is 0 until the manifest is read). */
  onProgress?: (p: Progress) => void;
  /** Keep files in the Cache API (default true where the page has one). */
  cache?: boolean;
  /** Check each file's sha256 against the manifest (SubtleCrypto; default true). Sizes are always checked. */
  verify?: boolean;
  /** What did not stop the load but should be known (a file the Cache API would not keep); default console.warn. */
  onWarning?: (message: string) => void;
}

export const CACHE_NAME = "specter2-tfjs";

export interface FetchSource extends ModelSource {
  /** Tells the source what the manifest lists, for its progress total and its cache keys. */
  expect(manifest: Manifest, paths: readonly string[]): void;
}

export function fetchModelSource(url: string, options: FetchOptions = {}): FetchSource {
  const base = new URL(url.endsWith("/") ? url : `${url}/`, globalThis.location?.href);
  const useCache = (options.cache ?? true) && typeof caches !== "undefined";
  let manifest: Manifest | null = null;
  let total = 0;
  let loaded = 0;
  const name = (path: string) => new URL(path, base).href;

  async function download(path: string, optional: boolean): Promise<Uint8Array | null> {
    const file = name(path);
    let response: Response;
    try {
      // The manifest is always asked for anew: it is what says whether the cached files are still current.
      response = await fetch(file, path === MANIFEST_FILE ? { cache: "no-store" } : {});
    } catch (e) {
      throw new Specter2Error("MODEL_NOT_FOUND", `${file}: the request failed (a network error, or the server does not allow this page's origin: CORS)`, { url: file }, { cause: e });
    }
    if (response.status === 404 && optional) return null;
    if (!response.ok) throw new Specter2Error("MODEL_NOT_FOUND", `${file}: ${response.status} ${response.statusText}`.trim(), { url: file });
    // The manifest is read before the total is known, and is not part of it.
    return readWithProgress(response, file, path !== MANIFEST_FILE);
  }

  async function readWithProgress(response: Response, file: string, counted: boolean): Promise<Uint8Array> {
    if (!response.body) return new Uint8Array(await response.arrayBuffer());
    const chunks: Uint8Array[] = [];
    const reader = response.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      if (!counted) continue;
      loaded += value.byteLength;
      options.onProgress?.({ file, loaded, total });
    }
    const bytes = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
    let at = 0;
    for (const c of chunks) {
      bytes.set(c, at);
      at += c.byteLength;
    }
    return bytes;
  }

  /** A file that the Cache API refuses (its quota, or a private window's) is still loaded: the next load fetches it. */
  async function keep(cache: Cache, key: string, bytes: Uint8Array, file: string): Promise<void> {
    try {
      await cache.put(key, new Response(bytes as Uint8Array<ArrayBuffer>));
    } catch (e) {
      (options.onWarning ?? console.warn)(`${file}: the Cache API did not keep it (${e instanceof Error ? e.message : String(e)}), so the next load downloads it again`);
    }
  }

  /** The cache key of a file: its URL with the manifest's digest of it, so another version is another key. */
  function cacheKey(path: string): string | null {
    const digest = manifest?.files[path]?.sha256;
    return digest ? `${name(path)}?specter2-sha256=${digest}` : null;
  }

  return {
    location: url,
    name,
    expect(m, paths) {
      manifest = m;
      total = paths.reduce((n, p) => n + (m.files[p]?.bytes ?? 0), 0);
    },
    async read(path, optional = false) {
      const key = useCache && path !== MANIFEST_FILE ? cacheKey(path) : null;
      const cache = key ? await caches.open(CACHE_NAME) : null;
      const hit = cache && key ? await cache.match(key) : undefined;
      const bytes = hit ? new Uint8Array(await hit.arrayBuffer()) : await download(path, optional);
      if (hit) {
        loaded += bytes!.byteLength;
        options.onProgress?.({ file: name(path), loaded, total });
      }
      const expected = path === MANIFEST_FILE ? undefined : manifest?.files[path];
      if (bytes && expected) {
        checkDigest(name(path), bytes, options.verify === false ? null : await sha256(bytes), expected);
        if (cache && key && !hit) await keep(cache, key, bytes, name(path));
      }
      return bytes;
    },
    sha256,
  };
}

/** A model directory's files in memory (a Hub model converted in the page, or read back from the Cache API), by their
 *  manifest paths, manifest.json among them; `location` names them in errors. */
export function memoryModelSource(location: string, files: ReadonlyMap<string, Uint8Array>): FetchSource {
  const name = (path: string) => `${location}${path}`;
  return {
    location,
    name,
    expect: () => undefined,
    read: async (path, optional = false) => {
      const bytes = files.get(path);
      if (bytes !== undefined) return bytes;
      if (optional) return null;
      throw new Specter2Error("MODEL_NOT_FOUND", `${name(path)}: missing`, { file: name(path) });
    },
    sha256,
  };
}

function sha256(bytes: Uint8Array): Promise<string> {
  return digestHex("SHA-256", bytes);
}

export async function digestHex(algorithm: "SHA-256" | "SHA-1", bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest(algorithm, bytes as Uint8Array<ArrayBuffer>));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}
