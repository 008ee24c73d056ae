// A Hub file's `resolve` URL, and clear messages for the Hub's HTTP errors (what was asked for, and what the user can
// do about it), the same from Node (src/hub/hubHttp.ts) and from a page (src/web/hubFetch.ts).
import type { ErrorDetails } from "../../errors";
import { Specter2Error } from "../../errors";

/**
 * `${endpoint}/${repo}/resolve/${revision}/${file}`. The revision is one path segment even when it holds a
 * slash (`refs/pr/1`), as the Hub expects; the file keeps its folders.
 */
export function resolveUrl(endpoint: string, repo: string, revision: string, file: string): string {
  const path = file.split("/").map(encodeURIComponent).join("/");
  return `${endpoint}/${repo}/resolve/${encodeURIComponent(revision)}/${path}`;
}

/** A Hub request that failed: code HUB_ERROR, with the `url` (and the HTTP `status` when the Hub answered one). */
export class HubError extends Specter2Error {
  readonly status?: number;

  constructor(message: string, details: ErrorDetails & { status?: number } = {}, options?: { cause?: unknown }) {
    const { status, ...rest } = details;
    super("HUB_ERROR", message, rest, options);
    this.name = "HubError";
    if (status !== undefined) this.status = status;
  }
}

export interface HubFileRef {
  repo: string;
  revision: string;
  file: string;
}

/** What the advice in a message names: where the token comes from, whether one was sent, what a rerun does. */
export interface HubAdvice {
  /** "HF_TOKEN" in Node, "the token option" in a page. */
  tokenName: string;
  tokenSent: boolean;
  /** What to do about an error of the Hub's own (5xx, 429). */
  retry: string;
}

/** The error of a Hub answer that is not the file; `header` reads the answer's headers (X-Error-Code, X-Error-Message). */
export function hubStatusError(status: number, header: (name: string) => string | undefined, url: string, ref: HubFileRef, advice: HubAdvice): HubError {
  const { repo, revision, file } = ref;
  // The Hub names the missing thing in X-Error-Code and explains in X-Error-Message.
  const code = header("x-error-code");
  const message = header("x-error-message");
  const detail = message === undefined ? "" : ` (the Hub says: ${message})`;
  if (status === 401 || status === 403) {
    const token = advice.tokenSent
      ? `${advice.tokenName} is set but was refused: check that it is valid and has access to the repo`
      : `if the repo is private or gated, set ${advice.tokenName} to an access token that can read it`;
    // The Hub answers a repo that does not exist as it answers a private one (401, RepoNotFound): it may be either.
    if (code === "RepoNotFound") return new HubError(`${url}: HTTP ${status}, repo ${repo} does not exist, or is private: check its name; ${token}${detail}`, { url, status });
    return new HubError(`${url}: HTTP ${status}, not authorized to read ${repo}; ${token}${detail}`, { url, status });
  }
  if (status === 404) {
    const what =
      code === "RepoNotFound"
        ? `repo ${repo} does not exist`
        : code === "RevisionNotFound"
          ? `repo ${repo} has no revision ${revision}`
          : `repo ${repo} has no file ${file} at revision ${revision}`;
    return new HubError(`${url}: HTTP 404, ${what}${detail}`, { url, status });
  }
  return new HubError(`${url}: HTTP ${status} while downloading ${file} of ${repo}${detail}; ${advice.retry}`, { url, status });
}
