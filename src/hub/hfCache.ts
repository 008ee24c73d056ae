// The Hugging Face cache, as huggingface_hub lays it out (and Python's transformers / adapters fill it):
//   <cache>/models--{owner}--{name}/refs/{revision}           a file holding the commit hash
//   <cache>/models--{owner}--{name}/snapshots/{commit}/{file}  a symlink into ../../blobs/{etag}
//   <cache>/models--{owner}--{name}/blobs/{etag}               the bytes: etag = sha256 (LFS files) or git sha1
//   <cache>/models--{owner}--{name}/.no_exist/{commit}/{file}  an empty file: the repo has no such file
// Where symlinks are not possible (Windows without developer mode) the snapshot holds copies instead.
// A file read from the cache is checked against its blob's name, as a download is against the Hub's hash.
// Fetching a repo into it is src/hub/fetchRepo.ts's.
import { createHash } from "node:crypto";
import { existsSync, lstatSync, readFileSync, readlinkSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { hashFile } from "../io/fileHash";
import type { RepoFileSet } from "../weights/hub/repos";
import type { SourceProvenance } from "../weights/modelDir";
import { Specter2Error } from "../errors";

/** The cache directory: HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub (huggingface_hub's order). */
export function hfCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const explicit = env.HF_HUB_CACHE?.trim() || env.HUGGINGFACE_HUB_CACHE?.trim();
  return explicit ? expandHome(explicit) : join(hfHome(env), "hub");
}

/** Where huggingface_hub lets libraries keep what they derive from Hub files (our converted models): HF_ASSETS_CACHE,
 *  else $HF_HOME/assets; each library in a folder of its own. */
export function hfAssetsDir(env: NodeJS.ProcessEnv = process.env): string {
  const explicit = env.HF_ASSETS_CACHE?.trim();
  return explicit ? expandHome(explicit) : join(hfHome(env), "assets");
}

/** HF_HOME, else $XDG_CACHE_HOME/huggingface, else ~/.cache/huggingface. */
function hfHome(env: NodeJS.ProcessEnv): string {
  return expandHome(env.HF_HOME?.trim() || join(env.XDG_CACHE_HOME?.trim() || join(homedir(), ".cache"), "huggingface"));
}

/** HF_HUB_OFFLINE as huggingface_hub reads it: 1, ON, YES or TRUE (any case). */
export function hubOfflineFromEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  return ["1", "ON", "YES", "TRUE"].includes(env.HF_HUB_OFFLINE?.trim().toUpperCase() ?? "");
}

function expandHome(path: string): string {
  return resolve(path === "~" ? homedir() : path.startsWith("~/") ? join(homedir(), path.slice(2)) : path);
}

/** `allenai/specter2_base` → `<cache>/models--allenai--specter2_base`. */
export function repoCacheFolder(cache: string, repo: string): string {
  return join(cache, `models--${repo.split("/").join("--")}`);
}

const COMMIT = /^[0-9a-f]{40}$/;

/**
 * A folder given as such: a local folder, and where its path is a cache snapshot
 * (`…/models--{owner}--{name}/snapshots/{commit}`), also the repo and commit that says.
 */
export function folderProvenance(dir: string): SourceProvenance {
  const parts = resolve(dir).split(/[\\/]/);
  const [folder, snapshots, commit] = parts.slice(-3);
  const repo = /^models--([^-].*?)--(.+)$/.exec(folder ?? "");
  if (snapshots === "snapshots" && repo && COMMIT.test(commit ?? "")) return { origin: "folder", repo: `${repo[1]}/${repo[2]}`, commit };
  return { origin: "folder" };
}

const SHA256 = /^[0-9a-f]{64}$/;

export type BlobHash = "sha256" | "git-sha1";

export interface CachedFile {
  file: string;
  /** The snapshot's entry (a link or a copy). */
  path: string;
  bytes: number;
  /** The blob a link points to; undefined for a copy. */
  blob: string | undefined;
  /** The hash checked (by the blob's name); undefined: a copy, which has no name to check it against. */
  hash: BlobHash | undefined;
}

export type CacheLookup =
  | { hit: true; repo: string; revision: string; commit: string; dir: string; files: CachedFile[] }
  | { hit: false; repo: string; revision: string; commit: string | undefined; missing: string };

/**
 * Whether the cache holds everything the converter reads of `repo` at `revision` (a branch or tag through
 * refs/, or a commit hash): the required files, one weights file, and each optional file or the knowledge
 * (.no_exist) that the repo has none, so the result is the one a download would give. Files are found,
 * not yet verified: see verifyCachedFiles.
 */
export function lookupCache(cache: string, repo: string, revision: string, set: RepoFileSet): CacheLookup {
  const miss = (commit: string | undefined, missing: string): CacheLookup => ({ hit: false, repo, revision, commit, missing });
  const found = cachedSnapshot(cache, repo, revision);
  if (found.snapshot === undefined) return miss(found.commit, found.missing);
  const { folder, commit, snapshot } = found;
  const present = (file: string) => isFile(join(snapshot, ...file.split("/")));
  const knownAbsent = (file: string) => existsSync(join(folder, ".no_exist", commit, ...file.split("/")));
  const lacking = [...set.required.filter((f) => !present(f)), ...set.optional.filter((f) => !present(f) && !knownAbsent(f)).map((f) => `${f} (or the knowledge that the repo has none)`)];
  const weights = set.weights.filter(present);
  if (weights.length === 0) lacking.push(set.weights.join(" or "));
  if (lacking.length > 0) return miss(commit, `snapshot ${commit} lacks ${lacking.join(", ")}`);
  const used = [...set.required, ...set.optional.filter(present), ...weights];
  return { hit: true, repo, revision, commit, dir: snapshot, files: used.map((f) => cachedFile(snapshot, f)) };
}

/** The snapshot folder of `repo` at `revision` (a branch or tag through refs/, or a commit hash), or why there is none. */
export function cachedSnapshot(
  cache: string,
  repo: string,
  revision: string,
): { folder: string; commit: string; snapshot: string } | { snapshot: undefined; commit: string | undefined; missing: string } {
  const folder = repoCacheFolder(cache, repo);
  if (!existsSync(folder)) return { snapshot: undefined, commit: undefined, missing: `not in the cache (no ${folder})` };
  const refPath = join(folder, "refs", ...revision.split("/"));
  let commit: string;
  if (isFile(refPath)) {
    commit = readFileSync(refPath, "utf8").trim();
    if (!COMMIT.test(commit)) return { snapshot: undefined, commit: undefined, missing: `${refPath} does not hold a commit hash` };
  } else if (COMMIT.test(revision)) {
    commit = revision;
  } else {
    return { snapshot: undefined, commit: undefined, missing: `the cache does not know revision ${revision} (no ${refPath})` };
  }
  const snapshot = join(folder, "snapshots", commit);
  if (!existsSync(snapshot)) return { snapshot: undefined, commit, missing: `no snapshot of commit ${commit} (no ${snapshot})` };
  return { folder, commit, snapshot };
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile(); // follows the link: a dangling one is no file
  } catch {
    return false;
  }
}

function cachedFile(snapshot: string, file: string): CachedFile {
  const path = join(snapshot, ...file.split("/"));
  const bytes = statSync(path).size;
  if (!lstatSync(path).isSymbolicLink()) return { file, path, bytes, blob: undefined, hash: undefined };
  const blob = resolve(dirname(path), readlinkSync(path));
  const name = basename(blob);
  return { file, path, bytes, blob, hash: SHA256.test(name) ? "sha256" : COMMIT.test(name) ? "git-sha1" : undefined };
}

/** Hex sha256 and git blob sha1 (`sha1("blob <len>\0" + bytes)`) of a file. */
export function blobHashes(path: string): { sha256: string; gitSha1: string; bytes: number } {
  const bytes = statSync(path).size;
  const sha256 = createHash("sha256");
  const sha1 = createHash("sha1").update(`blob ${bytes}\0`);
  hashFile(path, [sha256, sha1], bytes);
  return { sha256: sha256.digest("hex"), gitSha1: sha1.digest("hex"), bytes };
}

/**
 * Checks each linked file against its blob's name (a sha256 or a git sha1); a mismatch is refused, naming
 * the blob to delete. A copy (no link) is checked only where the cache still holds a blob with its hash.
 */
export function verifyCachedFiles(repo: string, snapshot: string, files: CachedFile[]): CachedFile[] {
  const blobs = join(snapshot, "..", "..", "blobs");
  return files.map((f) => {
    const { sha256, gitSha1 } = blobHashes(f.path);
    if (f.blob === undefined) {
      const hash = existsSync(join(blobs, sha256)) ? "sha256" : existsSync(join(blobs, gitSha1)) ? "git-sha1" : undefined;
      return { ...f, hash };
    }
    if (f.hash === undefined) return f;
    const actual = f.hash === "sha256" ? sha256 : gitSha1;
    const expected = basename(f.blob);
    if (actual !== expected) {
      throw new Specter2Error(
        "BAD_CHECKPOINT",
        `${repo}/${f.file} in the Hugging Face cache is corrupt: its blob ${f.blob} has ${f.hash} ${actual}, its name says ${expected}; ` +
          `delete that blob (or ${dirname(dirname(f.blob))}) and fetch the repo again`,
        { file: f.blob },
      );
    }
    return f;
  });
}
