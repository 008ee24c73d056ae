// Fetching a repo's files into the Hugging Face cache, laid out as huggingface_hub does (src/hub/hfCache.ts),
// so the next run, ours or Python's, finds them there: each file is downloaded (resumably) into a staging
// folder, checked against the name its blob gets (the Hub's ETag: sha256 or git sha1), moved to blobs/, linked
// from snapshots/<commit>/ (copied where links are not possible), and refs/<revision> is written last.
import { copyFileSync, mkdirSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import type { HubConnection } from "./downloadHubFile";
import type { DownloadProgress } from "./downloadProgress";
import type { FetchedRepo } from "./fetchRepo";
import { fetchRepoFiles } from "./fetchRepo";
import { blobHashes, repoCacheFolder } from "./hfCache";
import { HubError } from "./hubErrors";
import type { RepoKind } from "./specter2Repos";
import { writeFileAtomic } from "../io/atomicFile";

/** Inside the repo's cache folder; huggingface_hub ignores it. Removed once the files are in place. */
export const CACHE_STAGING_DIR = ".specter2-tfjs-download";

const BLOB_NAME = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

export async function fetchIntoCache(cache: string, repo: string, revision: string, kind: RepoKind, hub: HubConnection, progress: DownloadProgress): Promise<FetchedRepo> {
  const folder = repoCacheFolder(cache, repo);
  const stagingRoot = join(folder, CACHE_STAGING_DIR);
  const staging = join(stagingRoot, encodeURIComponent(revision));
  const fetched = await fetchRepoFiles(repo, revision, kind, staging, hub, progress);
  const commit = fetched.commit;
  if (commit === undefined || !/^[0-9a-f]{40}$/.test(commit)) {
    throw new HubError(`${hub.endpoint} did not say which commit ${repo}@${revision} is (X-Repo-Commit), needed to place it in the Hugging Face cache; use \`specter2 download\` instead`, {
      url: hub.endpoint,
    });
  }
  const snapshot = join(folder, "snapshots", commit);
  const files = fetched.files.map((f) => {
    if (f.outcome === "absent") {
      // As huggingface_hub records it: the repo has no such file at this commit.
      const marker = join(folder, ".no_exist", commit, ...f.file.split("/"));
      mkdirSync(dirname(marker), { recursive: true });
      writeFileSync(marker, "");
      return f;
    }
    const etag = f.etag;
    if (etag === undefined || !BLOB_NAME.test(etag)) {
      throw new HubError(`${repo}/${f.file}: the Hub gave no sha256 or git sha1 ETag (${JSON.stringify(etag)}) to name its blob in the Hugging Face cache`, { file: f.path });
    }
    const hashes = blobHashes(f.path);
    const actual = etag.length === 64 ? hashes.sha256 : hashes.gitSha1;
    if (actual !== etag) {
      rmSync(f.path, { force: true });
      throw new HubError(`${repo}/${f.file}: the Hub names this file ${etag} but the downloaded bytes hash to ${actual}; the download was deleted, run again to retry`, { file: f.path });
    }
    const blob = join(folder, "blobs", etag);
    mkdirSync(dirname(blob), { recursive: true });
    renameSync(f.path, blob);
    const link = join(snapshot, ...f.file.split("/"));
    mkdirSync(dirname(link), { recursive: true });
    rmSync(link, { force: true });
    try {
      symlinkSync(relative(dirname(link), blob), link);
    } catch {
      copyFileSync(blob, link); // no symlinks here (Windows without developer mode): a copy, as huggingface_hub makes
    }
    return { ...f, path: link, verified: true, hash: etag.length === 64 ? ("sha256" as const) : ("git-sha1" as const) };
  });
  if (revision !== commit) {
    const ref = join(folder, "refs", ...revision.split("/"));
    mkdirSync(dirname(ref), { recursive: true });
    writeFileAtomic(ref, commit);
  }
  rmSync(staging, { recursive: true, force: true });
  if (readdirSync(stagingRoot).length === 0) rmSync(stagingRoot, { recursive: true, force: true });
  return { ...fetched, dir: snapshot, files };
}
