// Where a converted model's parts come from, in Node: the first requests for a base or an adapter repo's files, what
// `--base`, `--adapter NAME=…` and `--model` name (a local folder or a Hub repo), and a converted part's origin in
// words. What the names mean (SPECTER2's repos, the files read from each kind) is src/weights/hub/repos.ts's.
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import type { HubFileRequest } from "./downloadFile";
import type { RepoKind } from "../weights/hub/repos";
import { parseHubName, REPO_FILES } from "../weights/hub/repos";
import type { SourceProvenance } from "../weights/modelDir";
import { Specter2Error } from "../errors";

/** The first requests for a repo's files, in order; the weights after the first are asked for only if it is absent. */
export function repoFileRequests(repo: string, revision: string, kind: RepoKind): HubFileRequest[] {
  const set = REPO_FILES[kind];
  const files: [string, boolean][] = [
    ...set.required.map((f): [string, boolean] => [f, false]),
    ...set.optional.map((f): [string, boolean] => [f, true]),
    [set.weights[0], true],
    ...set.kept.map((f): [string, boolean] => [f, true]),
  ];
  return files.map(([file, optional]) => ({ repo, revision, file, optional }));
}

// What `--base`, `--adapter NAME=…` and `--model` name: a local folder, or a Hub repository `owner/name[@revision]`.
// The rule is unambiguous: a path that exists is a folder; otherwise `owner/name` (one slash, Hub name characters) is
// a Hub reference; anything else is a folder (that then does not exist, a clear error).

export type SourceRef = { kind: "folder"; dir: string } | { kind: "hub"; repo: string; revision: string };

/** `text` as given on the command line; `revision` applies where no `@REV` is given. */
export function parseSourceRef(text: string, revision: string, exists: (path: string) => boolean = existsSync): SourceRef {
  if (text === "") throw new Specter2Error("BAD_INPUT", "an empty folder or Hub repository name", {});
  if (exists(text)) return { kind: "folder", dir: resolve(text) };
  const name = parseHubName(text);
  if (name !== undefined) return { kind: "hub", repo: name.repo, revision: name.revision ?? revision };
  return { kind: "folder", dir: resolve(text) };
}

// A converted part's origin in words, for `convert`, `download` and `info` alike.

/**
 * `allenai/specter2 at revision main = commit …, from the Hugging Face cache: /path`; a folder is its path
 * (with the repo and commit where the path is a cache snapshot); directories from before provenance was
 * recorded give their path alone.
 */
export function describeProvenance(source: string, p: SourceProvenance): string {
  if (p.origin === undefined || p.repo === undefined) return p.origin === "folder" ? `${source} (a local folder)` : source;
  const commit = p.commit === undefined ? "" : ` = commit ${p.commit}`;
  if (p.origin === "folder") return `${source} (a local folder: a snapshot of ${p.repo}${p.commit === undefined ? "" : ` at commit ${p.commit}`})`;
  const renamed = p.requestedRepo === undefined ? "" : ` (asked for as ${p.requestedRepo}, the Hub's old name)`;
  const how = p.origin === "cache" ? "from the Hugging Face cache" : "downloaded";
  return `${p.repo}${renamed} at revision ${p.revision ?? "?"}${commit}, ${how}: ${source}`;
}

/** The provenance fields of a manifest entry (base or adapter), only those present. */
export function provenanceFields(entry: SourceProvenance): SourceProvenance {
  const { origin, repo, requestedRepo, revision, commit } = entry;
  const fields: SourceProvenance = { origin, repo, requestedRepo, revision, commit };
  for (const key of Object.keys(fields) as (keyof SourceProvenance)[]) if (fields[key] === undefined) delete fields[key];
  return fields;
}
