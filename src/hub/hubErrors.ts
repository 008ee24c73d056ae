// Clear messages for the Hub's HTTP errors: what was asked for, and what the user can do about it.
import type { IncomingHttpHeaders } from "node:http";
import type { ErrorDetails } from "../errors";
import { Specter2Error } from "../errors";

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

export function hubStatusError(status: number, headers: IncomingHttpHeaders, url: string, ref: HubFileRef, tokenSent: boolean): HubError {
  const { repo, revision, file } = ref;
  // The Hub names the missing thing in X-Error-Code and explains in X-Error-Message.
  const code = headers["x-error-code"];
  const detail = typeof headers["x-error-message"] === "string" ? ` (the Hub says: ${headers["x-error-message"]})` : "";
  if (status === 401 || status === 403) {
    const token = tokenSent
      ? "HF_TOKEN is set but was refused: check that it is valid and has access to the repo"
      : "if the repo is private or gated, set HF_TOKEN to an access token that can read it";
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
  return new HubError(`${url}: HTTP ${status} while downloading ${file} of ${repo}${detail}; run again later: finished files are kept and partial ones resume`, { url, status });
}
