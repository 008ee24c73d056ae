// Where a Hub file lives: the endpoint, the `resolve` URL of a file at a revision, and its local folder name.
import { HubError } from "./hubErrors";

export const DEFAULT_HUB_ENDPOINT = "https://huggingface.co";

/** HF_ENDPOINT as huggingface_hub reads it (a mirror or a test server), without a trailing slash. */
export function hubEndpoint(env: NodeJS.ProcessEnv = process.env): string {
  const endpoint = env.HF_ENDPOINT?.trim() || DEFAULT_HUB_ENDPOINT;
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new HubError(`HF_ENDPOINT ${JSON.stringify(endpoint)} is not a URL`, { field: "HF_ENDPOINT" });
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new HubError(`HF_ENDPOINT ${endpoint} is not an http(s) URL`, { url: endpoint, field: "HF_ENDPOINT" });
  return endpoint.replace(/\/+$/, "");
}

/** HF_TOKEN, or undefined when unset or blank. */
export function hubToken(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env.HF_TOKEN?.trim() || undefined;
}

/**
 * `${endpoint}/${repo}/resolve/${revision}/${file}`. The revision is one path segment even when it holds a
 * slash (`refs/pr/1`), as the Hub expects; the file keeps its folders.
 */
export function resolveUrl(endpoint: string, repo: string, revision: string, file: string): string {
  const path = file.split("/").map(encodeURIComponent).join("/");
  return `${endpoint}/${repo}/resolve/${encodeURIComponent(revision)}/${path}`;
}

/** `allenai/specter2_base` → `allenai--specter2_base`: one folder per repo, no nesting. */
export function repoFolderName(repo: string): string {
  return repo.split("/").join("--");
}

/**
 * The repo a `resolve` URL of this endpoint names (`…/{owner}/{name}/resolve/…`), or undefined: after the
 * Hub's redirects, the current name of a renamed repo.
 */
export function repoOfResolveUrl(endpoint: string, url: string): string | undefined {
  const base = new URL(endpoint);
  const target = new URL(url);
  if (target.origin !== base.origin) return undefined;
  const prefix = base.pathname.replace(/\/+$/, "");
  if (!target.pathname.startsWith(`${prefix}/`)) return undefined;
  const match = /^\/([^/]+\/[^/]+)\/resolve\//.exec(target.pathname.slice(prefix.length));
  return match ? decodeURIComponent(match[1]) : undefined;
}
