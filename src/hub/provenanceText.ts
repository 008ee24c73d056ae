// A converted part's origin in words, for `convert`, `download` and `info` alike.
import type { SourceProvenance } from "../weights/modelDir";

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
