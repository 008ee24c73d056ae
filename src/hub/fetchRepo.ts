// Fetching the files the converter reads of one Hub repo (a base or an adapter) into a folder, file by file
// (downloadHubFile: verified, resumable): the required ones, the optional ones the repo has, and the first
// weights file of the kind's list that the repo has.
import type { DownloadedFile, HubConnection } from "./downloadHubFile";
import { downloadHubFile } from "./downloadHubFile";
import type { DownloadProgress } from "./downloadProgress";
import { describeFile } from "./downloadReport";
import { HubError } from "./hubErrors";
import { resolveUrl } from "./hubUrls";
import type { RepoKind } from "./specter2Repos";
import { REPO_FILES, repoFileRequests } from "./specter2Repos";

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

export async function fetchRepoFiles(repo: string, revision: string, kind: RepoKind, dir: string, hub: HubConnection, progress: DownloadProgress): Promise<FetchedRepo> {
  const weights = REPO_FILES[kind].weights;
  const files: DownloadedFile[] = [];
  const fetch = async (request: ReturnType<typeof repoFileRequests>[number]) => {
    const file = await downloadHubFile(request, dir, hub, progress);
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
