// The Hub repos that make up SPECTER2, in each published variant, and the files we need from a base or an
// adapter repo (DESIGN.md §2). Any other repo of the same kind (a user's own adapter) is read the same way.
import type { HubFileRequest } from "./downloadHubFile";
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

export const BASE_REPO = VARIANTS.original.base;
export const ADAPTER_REPOS: Readonly<Record<string, string>> = VARIANTS.original.adapters;
export const ADAPTER_NAMES = Object.keys(ADAPTER_REPOS);

export type RepoKind = "base" | "adapter";

/** What the converter reads from a repo of one kind. */
export interface RepoFileSet {
  /** Must be there. */
  required: readonly string[];
  /** Read when the repo has them (defaults otherwise). */
  optional: readonly string[];
  /** The weights: one of these, in the order the download asks for them (the real repos have the first). */
  weights: readonly string[];
  /** Fetched when the repo has them, never needed (tokenizer.json is a fast-tokenizer copy of vocab.txt). */
  kept: readonly string[];
}

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
