// One Hub repo's files (a base or an adapter: what the converter reads) fetched file by file (downloadHubFile:
// verified, resumable) into a folder, or into the Hugging Face cache so that the next run finds them there.
import { copyFileSync, mkdirSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import type { DownloadedFile, DownloadOptions, DownloadProgress } from "./downloadFile";
import { describeFile, downloadHubFile } from "./downloadFile";
import type { HubConnection } from "./hubHttp";
import { HubError, resolveUrl } from "../weights/hub/hubErrors";
import type { RepoKind } from "../weights/hub/repos";
import { REPO_FILES } from "../weights/hub/repos";
import { repoFileRequests } from "./sources";
import { blobHashes, repoCacheFolder } from "./hfCache";
import { writeFileAtomic } from "../io/atomicFile";

// Into a folder: the required files, the optional ones the repo has, and the first weights file of the kind's
// list that the repo has.

export interface FetchedRepo {
  repo: string;
  revision: string;
  dir: string;
  files: DownloadedFile[];
  /** The commit every file came from (X-Repo-Commit), when the Hub said. */
  commit: string | undefined;
  /** The repo's current name, when the Hub redirected `repo` to it (a renamed repo). */
  resolvedRepo: string | undefined;
}

export async function fetchRepoFiles(
  repo: string,
  revision: string,
  kind: RepoKind,
  dir: string,
  hub: HubConnection,
  progress: DownloadProgress,
  options: DownloadOptions = {},
): Promise<FetchedRepo> {
  const weights = REPO_FILES[kind].weights;
  const files: DownloadedFile[] = [];
  const fetch = async (request: ReturnType<typeof repoFileRequests>[number]) => {
    const file = await downloadHubFile(request, dir, hub, progress, options);
    progress.line(describeFile(file));
    files.push(file);
    return file;
  };
  for (const request of repoFileRequests(repo, revision, kind)) {
    let file = await fetch(request);
    // The first weights file is absent: the next in the list, until one is there.
    for (let next = 1; request.file === weights[0] && file.outcome === "absent" && next < weights.length; next++) {
      file = await fetch({ ...request, file: weights[next] });
    }
    if (request.file === weights[0] && file.outcome === "absent") {
      const url = resolveUrl(hub.endpoint, repo, revision, weights[weights.length - 1]);
      throw new HubError(`${url}: HTTP 404, repo ${repo} has no weights file at revision ${revision} (looked for ${weights.join(", ")})`, { url, status: 404 });
    }
  }
  const commits = [...new Set(files.map((f) => f.commit).filter((c) => c !== undefined))];
  if (commits.length > 1) {
    throw new HubError(
      `the files of ${repo} in ${dir} come from different commits (${commits.join(", ")}): revision ${revision} moved since some were downloaded; ` +
        `delete ${dir} and run again, or ask for one commit with ${repo}@<commit>`,
      { file: dir },
    );
  }
  return { repo, revision, dir, files, commit: commits[0], resolvedRepo: files.find((f) => f.resolvedRepo !== undefined)?.resolvedRepo };
}

// Into the Hugging Face cache, laid out as huggingface_hub does (src/hub/hfCache.ts reads it), so the next
// run, ours or Python's, finds the files there: each file is downloaded (resumably) into a staging folder,
// checked against the name its blob gets (the Hub's ETag: sha256 or git sha1), moved to blobs/, linked from
// snapshots/<commit>/ (copied where links are not possible), and refs/<revision> is written last.

/** Inside the repo's cache folder; huggingface_hub ignores it. Removed once the files are in place. */
const CACHE_STAGING_DIR = ".specter2-tfjs-download";

const BLOB_NAME = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

export async function fetchIntoCache(
  cache: string,
  repo: string,
  revision: string,
  kind: RepoKind,
  hub: HubConnection,
  progress: DownloadProgress,
  options: DownloadOptions = {},
): Promise<FetchedRepo> {
  const folder = repoCacheFolder(cache, repo);
  const stagingRoot = join(folder, CACHE_STAGING_DIR);
  const staging = join(stagingRoot, encodeURIComponent(revision));
  const fetched = await fetchRepoFiles(repo, revision, kind, staging, hub, progress, options);
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
