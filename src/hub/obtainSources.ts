// The base and adapters named on the command line, each as a local folder the converter can read: a folder
// as given; a Hub repository from the Hugging Face cache (checked against its blob names) when the cache has
// everything the converter reads, else fetched (unless offline, which then names what is missing).
import { join } from "node:path";
import type { DownloadedFile, HubConnection } from "./downloadHubFile";
import type { DownloadProgress } from "./downloadProgress";
import { describeFile } from "./downloadReport";
import { fetchIntoCache } from "./cacheFetch";
import { fetchRepoFiles } from "./fetchRepo";
import type { CacheLookup } from "./hfCache";
import { folderProvenance, lookupCache, verifyCachedFiles } from "./hfCache";
import { HubError } from "./hubErrors";
import { repoFolderName } from "./hubUrls";
import type { SourceRef } from "./sourceRef";
import type { RepoKind } from "./specter2Repos";
import { REPO_FILES } from "./specter2Repos";
import type { SourceOrigin, SourceProvenance } from "../weights/modelDir";
import { Specter2Error } from "../errors";

export interface SourceRequest {
  kind: RepoKind;
  /** The adapter's name (adapters only). */
  name?: string;
  ref: SourceRef;
}

export interface ObtainedSource {
  kind: RepoKind;
  name?: string;
  ref: SourceRef;
  /** The Hub repo as asked for, or the folder's path. */
  repo: string;
  origin: SourceOrigin;
  /** The folder holding the files: the folder given, a cache snapshot, or the download folder. */
  dir: string;
  /** The files taken from the cache or the Hub (none for a folder). */
  files: DownloadedFile[];
  commit: string | undefined;
  /** The repo's current name, where the Hub redirected the one asked for. */
  resolvedRepo: string | undefined;
}

export interface ObtainOptions {
  /** The Hugging Face cache directory (hfCacheDir()). */
  cache: string;
  /** Never touch the network: what the cache lacks is an error. */
  offline: boolean;
  /** The Hub to fetch from; called only when something must be fetched (so a bad HF_ENDPOINT is harmless offline). */
  hub: () => HubConnection;
  /** Where repos the cache lacks are fetched to: into the cache itself, or one folder per repo under `dir`. */
  fetchInto: "cache" | { dir: string };
  progress: DownloadProgress;
}

export async function obtainSources(requests: SourceRequest[], options: ObtainOptions): Promise<ObtainedSource[]> {
  const lookups = requests.map((r) => (r.ref.kind === "hub" ? lookupCache(options.cache, r.ref.repo, r.ref.revision, REPO_FILES[r.kind]) : undefined));
  const misses = lookups.filter((l): l is CacheLookup & { hit: false } => l !== undefined && !l.hit);
  if (options.offline && misses.length > 0) throw offlineError(options.cache, misses);
  const obtained: ObtainedSource[] = [];
  for (const [i, request] of requests.entries()) {
    const lookup = lookups[i];
    const { ref } = request;
    const common = { kind: request.kind, ...(request.name === undefined ? {} : { name: request.name }), ref, repo: ref.kind === "folder" ? ref.dir : ref.repo };
    if (ref.kind === "folder" || lookup === undefined) {
      obtained.push({ ...common, origin: "folder", dir: ref.kind === "folder" ? ref.dir : "", files: [], commit: undefined, resolvedRepo: undefined });
    } else if (lookup.hit) {
      const files = verifyCachedFiles(lookup.repo, lookup.dir, lookup.files).map((f): DownloadedFile => ({
        repo: lookup.repo,
        file: f.file,
        path: f.path,
        outcome: "cached",
        bytes: f.bytes,
        transferred: 0,
        seconds: 0,
        verified: f.hash !== undefined,
        ...(f.hash === undefined ? {} : { hash: f.hash }),
        commit: lookup.commit,
      }));
      for (const f of files) options.progress.line(describeFile(f));
      obtained.push({ ...common, origin: "cache", dir: lookup.dir, files, commit: lookup.commit, resolvedRepo: undefined });
    } else {
      const hub = options.hub();
      const fetching =
        options.fetchInto === "cache"
          ? fetchIntoCache(options.cache, ref.repo, ref.revision, request.kind, hub, options.progress)
          : fetchRepoFiles(ref.repo, ref.revision, request.kind, join(options.fetchInto.dir, repoFolderName(ref.repo)), hub, options.progress);
      const fetched = await fetching.catch((e: unknown) => {
        throw unreachable(e)
          ? new HubError(
              `${(e as HubError).message}\n(${ref.repo}@${ref.revision} is not in the Hugging Face cache ${options.cache}: ${lookup.missing}; --offline lists all it lacks)`,
              { url: (e as HubError).url },
              { cause: e },
            )
          : e;
      });
      obtained.push({ ...common, origin: "download", dir: fetched.dir, files: fetched.files, commit: fetched.commit, resolvedRepo: fetched.resolvedRepo });
    }
  }
  return obtained;
}

/** Errno codes of a Hub that cannot be reached at all (no network, no DNS, nothing listening). */
const UNREACHABLE = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "ENETUNREACH", "EHOSTUNREACH", "ETIMEDOUT", "ECONNRESET"]);

/** A HubError without an HTTP status whose cause chain ends in one of those. */
function unreachable(e: unknown): boolean {
  if (!(e instanceof HubError) || e.status !== undefined) return false;
  // Not `instanceof Error`: Node's own errors may come from another realm (a vm context, as in jest).
  let c: unknown = e;
  for (let depth = 0; depth < 10 && typeof c === "object" && c !== null; depth++, c = (c as { cause?: unknown }).cause) {
    const code = (c as NodeJS.ErrnoException).code;
    if (typeof code === "string" && UNREACHABLE.has(code)) return true;
  }
  return false;
}

function offlineError(cache: string, misses: (CacheLookup & { hit: false })[]): Specter2Error {
  const lines = misses.map((m) => `  ${m.repo}@${m.revision}: ${m.missing}`);
  const repos = [...new Set(misses.map((m) => m.repo))];
  return new Specter2Error(
    "MODEL_NOT_FOUND",
    `offline (--offline or HF_HUB_OFFLINE=1), and the Hugging Face cache ${cache} lacks what the conversion reads:\n${lines.join("\n")}\n` +
      `fetch ${repos.length === 1 ? "it" : "them"} where the Hub is reachable (e.g. \`huggingface-cli download ${repos[0]}\`, or this command without --offline), ` +
      "or set HF_HUB_CACHE / HF_HOME to the cache that has them",
    { file: cache },
  );
}

/** What the manifest records of a part's origin. */
export function provenanceOf(source: ObtainedSource): SourceProvenance {
  const { ref } = source;
  if (ref.kind === "folder") return folderProvenance(ref.dir);
  const renamed = source.resolvedRepo !== undefined && source.resolvedRepo !== ref.repo;
  return {
    origin: source.origin,
    repo: renamed ? source.resolvedRepo : ref.repo,
    ...(renamed ? { requestedRepo: ref.repo } : {}),
    revision: ref.revision,
    ...(source.commit === undefined ? {} : { commit: source.commit }),
  };
}
