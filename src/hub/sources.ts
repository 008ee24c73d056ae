// What a converted model is made from. SPECTER2's Hub repos in each published variant, and the files read from a
// base or an adapter repo; any other repo of the same kind (a user's own adapter) is read the same way. What
// `--base` and `--adapter NAME=…` name: a local folder or a Hub repo. And a converted part's origin in words.
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import type { HubFileRequest } from "./downloadFile";
import type { RepoFileSet } from "../../convert/hub/hfCache";
import type { SourceProvenance } from "../weights/modelDir";
import { Specter2Error } from "../errors";

export interface Specter2Variant {
  base: string;
  /** Adapter name (what `embed --adapter` takes) → its repo. */
  adapters: Readonly<Record<string, string>>;
}

export const VARIANTS = {
  /** The release of 2023 (the model card's). */
  original: {
    base: "allenai/specter2_base",
    adapters: {
      proximity: "allenai/specter2",
      adhoc_query: "allenai/specter2_adhoc_query",
      classification: "allenai/specter2_classification",
      regression: "allenai/specter2_regression",
    },
  },
  /** Trained on newer data (August 2023); never mix its base with the original's adapters or the reverse. */
  aug2023refresh: {
    base: "allenai/specter2_aug2023refresh_base",
    adapters: {
      proximity: "allenai/specter2_aug2023refresh",
      adhoc_query: "allenai/specter2_aug2023refresh_adhoc_query",
      classification: "allenai/specter2_aug2023refresh_classification",
      regression: "allenai/specter2_aug2023refresh_regression",
    },
  },
} as const satisfies Record<string, Specter2Variant>;

export type VariantName = keyof typeof VARIANTS;
export const VARIANT_NAMES = Object.keys(VARIANTS) as VariantName[];
export const DEFAULT_VARIANT: VariantName = "original";

/**
 * The first release's names. They are not mapped here: the Hub answers them with a redirect to the current
 * name, which the download follows and reports (so a name the Hub moves again is still found).
 */
export const FIRST_RELEASE_NAMES: readonly string[] = [
  "allenai/specter_plus_plus",
  "allenai/spp_proximity",
  "allenai/spp_adhoc_query",
  "allenai/spp_classification",
  "allenai/spp_regression",
];

/** The adapters of the default variant, by name. */
export const ADAPTER_NAMES = Object.keys(VARIANTS[DEFAULT_VARIANT].adapters);

export type RepoKind = "base" | "adapter";

/** What the converter reads from a repo of one kind. */
export const REPO_FILES: Readonly<Record<RepoKind, RepoFileSet>> = {
  base: {
    required: ["config.json", "vocab.txt"],
    optional: ["tokenizer_config.json", "special_tokens_map.json"],
    weights: ["pytorch_model.bin", "model.safetensors"],
    kept: ["tokenizer.json"],
  },
  // The adapter repos also hold prediction heads (head_config.json, pytorch_model_head.bin): not needed.
  adapter: { required: ["adapter_config.json"], optional: [], weights: ["pytorch_adapter.bin", "adapter.safetensors"], kept: [] },
};

export function variantOf(name: string): Specter2Variant {
  if (!Object.hasOwn(VARIANTS, name)) {
    throw new Specter2Error("BAD_INPUT", `unknown SPECTER2 variant "${name}": the variants are ${VARIANT_NAMES.join(", ")}`, { field: "variant" });
  }
  return VARIANTS[name as VariantName];
}

export function adapterRepo(name: string, variant: string = DEFAULT_VARIANT): string {
  const adapters = variantOf(variant).adapters;
  // hasOwn: "constructor" and friends are not adapters.
  if (!Object.hasOwn(adapters, name)) {
    throw new Specter2Error("UNKNOWN_ADAPTER", `unknown adapter "${name}": SPECTER2's adapters are ${Object.keys(adapters).join(", ")}`, { adapter: name });
  }
  return adapters[name];
}

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

// What `--base` and `--adapter NAME=…` name: a local folder, or a Hub repository `owner/name[@revision]`.
// The rule is unambiguous: a path that exists is a folder; otherwise `owner/name` (one slash, Hub name
// characters) is a Hub reference; anything else is a folder (that then does not exist, a clear error).

export type SourceRef = { kind: "folder"; dir: string } | { kind: "hub"; repo: string; revision: string };

/** Hub repo ids: `owner/name`, each part letters, digits, `-`, `_`, `.`, starting with a letter or digit. */
const REPO_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]*\/[A-Za-z0-9][A-Za-z0-9_.-]*$/;

function isRepoId(text: string): boolean {
  return REPO_ID.test(text) && !text.includes("..") && !text.includes("--");
}

/** `text` as given on the command line; `revision` applies where no `@REV` is given. */
export function parseSourceRef(text: string, revision: string, exists: (path: string) => boolean = existsSync): SourceRef {
  if (text === "") throw new Specter2Error("BAD_INPUT", "an empty folder or Hub repository name", {});
  if (exists(text)) return { kind: "folder", dir: resolve(text) };
  const at = text.indexOf("@");
  const id = at < 0 ? text : text.slice(0, at);
  if (isRepoId(id)) {
    const rev = at < 0 ? revision : text.slice(at + 1);
    if (rev === "") throw new Specter2Error("BAD_INPUT", `${text}: no revision after "@" (e.g. ${id}@main or ${id}@<commit>)`, { field: "revision" });
    return { kind: "hub", repo: id, revision: rev };
  }
  return { kind: "folder", dir: resolve(text) };
}

/** The part after the slash: the default adapter name of `--adapter owner/name`. */
export function repoName(repo: string): string {
  return repo.slice(repo.indexOf("/") + 1);
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
