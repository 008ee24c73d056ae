// The base and adapters named on the command line, each as a local folder the converter can read: a folder
// as given; a Hub repository from the Hugging Face cache (checked against its blob names) when the cache has
// everything the converter reads, else fetched (unless offline, which then names what is missing).
import { basename, join } from "node:path";
import type { DownloadedFile } from "./downloadFile";
import { describeFile, DownloadProgress, formatBytes, verification } from "./downloadFile";
import { fetchIntoCache, fetchRepoFiles } from "./fetchRepo";
import type { HubConnection } from "./hubHttp";
import { repoFolderName } from "./hubHttp";
import { HubError } from "../weights/hub/hubErrors";
import type { SourceRef } from "./sources";
import { parseSourceRef } from "./sources";
import type { RepoKind } from "../weights/hub/repos";
import { adapterRepo, DEFAULT_VARIANT, REPO_FILES, repoName, variantOf } from "../weights/hub/repos";
import type { CacheLookup } from "./hfCache";
import { folderProvenance, lookupCache, verifyCachedFiles } from "./hfCache";
import type { SourceOrigin, SourceProvenance } from "../weights/modelDir";
import { checkAdapterName } from "../weights/modelDir";
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
  /** Every file must be verified against a hash: the Hub's for a download (DownloadOptions), its blob's name for a
   *  file from the Hugging Face cache; one that is not is an error (HUB_ERROR) naming it. */
  requireSha256?: boolean;
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
      const unverified = files.find((f) => !f.verified);
      if (options.requireSha256 === true && unverified !== undefined) {
        throw new HubError(`${unverified.path}: ${verification(unverified)} in the Hugging Face cache, and --require-sha256 asks for every file to be verified`, { file: unverified.path });
      }
      obtained.push({ ...common, origin: "cache", dir: lookup.dir, files, commit: lookup.commit, resolvedRepo: undefined });
    } else {
      const hub = options.hub();
      const download = { requireSha256: options.requireSha256 };
      const fetching =
        options.fetchInto === "cache"
          ? fetchIntoCache(options.cache, ref.repo, ref.revision, request.kind, hub, options.progress, download)
          : fetchRepoFiles(ref.repo, ref.revision, request.kind, join(options.fetchInto.dir, repoFolderName(ref.repo)), hub, options.progress, download);
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

// SPECTER2's base model and the chosen adapters, of one variant, or any repos and folders named instead:
// each from the Hugging Face cache where it holds them, else fetched from the Hub into
// `<out>/hub/<owner>--<name>/`, one repo folder each, ready for convertModel; and what that did, in words.

export const HUB_DIR = "hub";

export interface ExtraAdapter {
  /** Default: the repo's name (`owner/NAME`) or the folder's base name. */
  name?: string;
  /** A folder, or a Hub repo `owner/name[@revision]`. */
  ref: string;
}

export interface DownloadSpecter2Options {
  out: string;
  /** Of every repo that names no `@REV` of its own. */
  revision: string;
  /** original (default) or aug2023refresh. */
  variant?: string;
  /** The variant's adapters to take, by name (proximity, adhoc_query, classification, regression). */
  adapters: string[];
  /** In place of the variant's base: a folder or a Hub repo `owner/name[@revision]`. */
  base?: string;
  /** More adapters, or another repo for one of the variant's names (it replaces that one). */
  extraAdapters?: ExtraAdapter[];
  /** The Hub; a function is called only if something must be fetched. */
  hub: HubConnection | (() => HubConnection);
  /** The Hugging Face cache directory, looked in first (hfCacheDir()). */
  cache: string;
  /** Never touch the network: what the cache lacks is an error naming it. */
  offline?: boolean;
  progress?: DownloadProgress;
  /** A file that cannot be verified against a hash (ObtainOptions) is an error instead of a file said to be not verified. */
  requireSha256?: boolean;
}

export type DownloadedRepo = ObtainedSource;

export interface DownloadedSpecter2 {
  base: DownloadedRepo;
  adapters: (DownloadedRepo & { name: string })[];
}

export async function downloadSpecter2(options: DownloadSpecter2Options): Promise<DownloadedSpecter2> {
  const variant = options.variant ?? DEFAULT_VARIANT;
  const { revision } = options;
  const base = options.base === undefined ? { kind: "hub" as const, repo: variantOf(variant).base, revision } : parseSourceRef(options.base, revision);
  // Everything named is checked before anything is fetched.
  const adapters = new Map<string, SourceRequest>();
  for (const name of options.adapters) {
    const repo = adapterRepo(name, variant);
    if (adapters.has(name)) throw new Specter2Error("BAD_INPUT", `adapter "${name}" is given twice`, { adapter: name });
    adapters.set(name, { kind: "adapter", name, ref: { kind: "hub", repo, revision } });
  }
  const extras = new Set<string>();
  for (const extra of options.extraAdapters ?? []) {
    const ref = parseSourceRef(extra.ref, revision);
    const name = extra.name ?? (ref.kind === "hub" ? repoName(ref.repo) : basename(ref.dir));
    checkAdapterName(name);
    if (extras.has(name)) throw new Specter2Error("BAD_INPUT", `adapter "${name}" is given twice`, { adapter: name });
    extras.add(name);
    adapters.set(name, { kind: "adapter", name, ref });
  }
  const hub = options.hub;
  const [baseSource, ...adapterSources] = await obtainSources([{ kind: "base", ref: base }, ...adapters.values()], {
    cache: options.cache,
    offline: options.offline ?? false,
    hub: typeof hub === "function" ? hub : () => hub,
    fetchInto: { dir: join(options.out, HUB_DIR) },
    progress: options.progress ?? new DownloadProgress(),
    requireSha256: options.requireSha256,
  });
  return { base: baseSource, adapters: adapterSources.map((a) => ({ ...a, name: a.name! })) };
}

/** `revision`: the one asked for where a repo names none of its own (`REPO@REV`). */
export function downloadSummary(result: DownloadedSpecter2, revision: string): string {
  const repos = [result.base, ...result.adapters];
  const lines = [`Hub files (revision ${revision}):`];
  const width = Math.max(0, ...repos.flatMap((r) => r.files.map((f) => f.file.length)));
  for (const repo of repos) lines.push(...describeRepo(repo, width, revision));
  const files = repos.flatMap((r) => r.files).filter((f) => f.outcome !== "absent");
  const count = (outcome: DownloadedFile["outcome"]) => files.filter((f) => f.outcome === outcome).length;
  const fetched = files.filter((f) => f.outcome !== "cached");
  const cached = files.filter((f) => f.outcome === "cached");
  const hashed = (hash: string) => fetched.filter((f) => f.verified && (f.hash ?? "sha256") === hash).length;
  const unverified = fetched.filter((f) => !f.verified).length;
  lines.push(
    `${files.length} files: ${count("downloaded")} downloaded, ${count("resumed")} resumed, ${count("skipped")} already complete` +
      (fetched.length > 0 ? `; ${fetched.length - unverified} verified against the Hub's hashes (${hashed("sha256")} sha256, ${hashed("git-sha1")} git sha1)` : "") +
      (unverified > 0 ? `, ${unverified} NOT verified (the Hub gave no hash for them)` : "") +
      (cached.length > 0 ? `; ${cached.length} from the Hugging Face cache, ${cached.filter((f) => f.verified).length} of them checked against their blob's name` : ""),
  );
  for (const repo of repos) {
    if (repo.resolvedRepo !== undefined && repo.resolvedRepo !== repo.repo) lines.push(`${repo.repo} is an old name: the Hub redirected it to ${repo.resolvedRepo}`);
  }
  return `${lines.join("\n")}\n`;
}

/** The repo's line and a row per file, names padded to `width`. */
function describeRepo(repo: DownloadedRepo, width: number, revision: string): string[] {
  if (repo.ref.kind === "folder") return [`  ${repo.dir} (a local folder)`];
  const commit = repo.commit ?? repo.files.find((f) => f.commit !== undefined)?.commit;
  const name = repo.ref.revision === revision ? repo.repo : `${repo.repo}@${repo.ref.revision}`;
  const renamed = repo.resolvedRepo !== undefined && repo.resolvedRepo !== repo.repo ? ` (now ${repo.resolvedRepo})` : "";
  const from = repo.origin === "cache" ? " (from the Hugging Face cache)" : "";
  return [
    `  ${name}${renamed}${commit === undefined ? "" : ` (commit ${commit})`} → ${repo.dir}${from}`,
    ...repo.files.map((f) => {
      const size = f.outcome === "absent" ? "-" : formatBytes(f.bytes);
      const state = f.outcome === "skipped" ? "already complete" : f.outcome;
      return `    ${f.file.padEnd(width)}  ${size.padStart(9)}  ${state.padEnd(16)}  ${f.outcome === "absent" ? "optional, not in the repo" : verification(f)}`;
    }),
  ];
}
