// What a Hub name means, the same in Node, in a page and on the command line: SPECTER2's repos in each published
// variant (and the first release's names), the files read from a base or an adapter repo, the `owner/name[@revision]`
// syntax, and the plan a name resolves to (which base, which adapters, which default). Any other repo is planned from
// what it holds (planForRepo): a BERT base alone, or an AdapterHub adapter with the base its adapter_config.json names.
import { Specter2Error } from "../../errors";
import type { ModelDType } from "../modelDir";
import { checkAdapterName, MODEL_FORMAT_VERSION } from "../modelDir";
import type { Json } from "./jsonFields";

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

/** The adapters of the default variant, by name. */
export const ADAPTER_NAMES = Object.keys(VARIANTS[DEFAULT_VARIANT].adapters);

/**
 * The first release's names, and what each is now in the original variant ("base" or an adapter's name). The Hub
 * answers them with a redirect to the current name, which a download follows and reports; a load by one of these
 * names loads the original variant by its current names.
 */
export const FIRST_RELEASE_NAMES: Readonly<Record<string, string>> = {
  "allenai/specter_plus_plus": "base",
  "allenai/spp_proximity": "proximity",
  "allenai/spp_adhoc_query": "adhoc_query",
  "allenai/spp_classification": "classification",
  "allenai/spp_regression": "regression",
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

export type RepoKind = "base" | "adapter";

/** What is read of a repo of one kind. */
export interface RepoFileSet {
  /** Must be there. */
  required: readonly string[];
  /** Read when the repo has them (defaults otherwise). */
  optional: readonly string[];
  /** The weights: one of these, in the order a download asks for them (the real repos have the first). */
  weights: readonly string[];
  /** Fetched when the repo has them, never needed (tokenizer.json is a fast-tokenizer copy of vocab.txt). */
  kept: readonly string[];
}

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

// Hub names: `owner/name`, each part letters, digits, `-`, `_`, `.`, starting with a letter or digit, with an optional
// `@revision`. Whether a string is a path or a URL instead is the platform's to say first (an existing path is a
// folder in Node, a URL a model directory in a page); what remains and reads so is a Hub repository.

const REPO_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]*\/[A-Za-z0-9][A-Za-z0-9_.-]*$/;

export function isRepoId(text: string): boolean {
  return REPO_ID.test(text) && !text.includes("..") && !text.includes("--");
}

export interface HubName {
  repo: string;
  /** The revision after "@", when given. */
  revision?: string;
}

/** `owner/name[@revision]`, or undefined where `text` does not read so. An empty revision after "@" is an error. */
export function parseHubName(text: string): HubName | undefined {
  const at = text.indexOf("@");
  const repo = at < 0 ? text : text.slice(0, at);
  if (!isRepoId(repo)) return undefined;
  if (at < 0) return { repo };
  const revision = text.slice(at + 1);
  if (revision === "") throw new Specter2Error("BAD_INPUT", `${text}: no revision after "@" (e.g. ${repo}@main or ${repo}@<commit>)`, { field: "revision" });
  return { repo, revision };
}

/** The part after the slash: the adapter name an adapter repo gets (`owner/NAME`). */
export function repoName(repo: string): string {
  return repo.slice(repo.indexOf("/") + 1);
}

// What a name resolves to.

export interface PlannedRepo {
  repo: string;
  revision: string;
}

export interface ModelPlan {
  /** The repo as named. */
  name: string;
  /** The named repo's revision (its `@revision`, else the load's). */
  revision: string;
  base: PlannedRepo;
  adapters: (PlannedRepo & { name: string })[];
  /** The adapter a call that names none uses; null: the bare base. */
  defaultAdapter: string | null;
  /** What the name is, in words ("SPECTER2 (original variant): its proximity adapter"). */
  what: string;
}

export interface PlanOptions {
  /** Of every repo the name does not pin with `@revision` (default "main"). */
  revision?: string;
  /** Adapters to load: names, or "all" (default). */
  adapters?: readonly string[] | "all";
}

/** SPECTER2's part a repo is (either variant, the first release's names too), or undefined. */
export function specter2Part(repo: string): { variant: VariantName; part: string } | undefined {
  if (Object.hasOwn(FIRST_RELEASE_NAMES, repo)) return { variant: "original", part: FIRST_RELEASE_NAMES[repo] };
  for (const variant of VARIANT_NAMES) {
    const v = VARIANTS[variant];
    if (v.base === repo) return { variant, part: "base" };
    const adapter = Object.entries(v.adapters).find(([, r]) => r === repo);
    if (adapter) return { variant, part: adapter[0] };
  }
  return undefined;
}

/**
 * The plan of a SPECTER2 name: that variant's base with its four adapters (or those `adapters` lists), the named one
 * the default (proximity for a base; the first listed where the named one is not loaded). Undefined for any other
 * repo: its files say what it is (planForRepo).
 */
export function planForName(name: HubName, options: PlanOptions = {}): ModelPlan | undefined {
  const found = specter2Part(name.repo);
  if (found === undefined) return undefined;
  const revision = options.revision ?? "main";
  const pinned = name.revision ?? revision;
  const variant = VARIANTS[found.variant];
  const all = Object.keys(variant.adapters);
  const wanted = options.adapters === undefined || options.adapters === "all" ? all : [...options.adapters];
  for (const a of wanted) adapterRepo(a, found.variant);
  if (new Set(wanted).size !== wanted.length) throw new Specter2Error("BAD_INPUT", `an adapter is listed twice in ${JSON.stringify(wanted)}`, { field: "adapters" });
  // The named repo at its pinned revision (a first-release name: the repo it is now), the others at the load's.
  const revisionOf = (part: string) => (part === found.part ? pinned : revision);
  const named = found.part === "base" ? "proximity" : found.part;
  return {
    name: name.repo,
    revision: pinned,
    base: { repo: variant.base, revision: revisionOf("base") },
    adapters: wanted.map((a) => ({ name: a, repo: adapterRepo(a, found.variant), revision: revisionOf(a) })),
    defaultAdapter: wanted.includes(named) ? named : (wanted[0] ?? null),
    what: `SPECTER2 (${found.variant} variant): ${found.part === "base" ? "its base" : `its ${found.part} adapter`}${Object.hasOwn(FIRST_RELEASE_NAMES, name.repo) ? ", by its first release's name" : ""}`,
  };
}

/** What a repo that is not SPECTER2's holds, as far as its kind goes. */
export interface RepoContents {
  /** Its adapter_config.json, where it has one. */
  adapterConfig?: Json;
  /** Its config.json, where it has one. */
  config?: Json;
  /** The files it has (for the error that says what was found), where known. */
  files?: readonly string[];
}

/** The plan of any other repo, from what it holds: an AdapterHub adapter (adapter_config.json, whose model_name is its
 *  base) with its base, or a BERT base (config.json) alone; anything else is refused saying what was found. */
export function planForRepo(name: HubName, contents: RepoContents, options: PlanOptions = {}): ModelPlan {
  const revision = options.revision ?? "main";
  const pinned = name.revision ?? revision;
  const { adapterConfig, config } = contents;
  if (adapterConfig !== undefined) {
    const baseName = adapterConfig.model_name;
    const base = typeof baseName === "string" ? parseHubName(baseName) : undefined;
    if (base === undefined) {
      throw new Specter2Error(
        "BAD_CHECKPOINT",
        `${name.repo} is an AdapterHub adapter, but its adapter_config.json names its base ${JSON.stringify(baseName)}, not a Hub repository owner/name; ` +
          "convert it with its base: specter2 convert --base <base> --adapter <name>=" +
          name.repo,
        { file: `${name.repo}/adapter_config.json`, field: "model_name" },
      );
    }
    const adapter = repoName(name.repo);
    checkAdapterName(adapter);
    const wanted = options.adapters === undefined || options.adapters === "all" ? [adapter] : [...options.adapters];
    const unknown = wanted.find((a) => a !== adapter);
    if (unknown !== undefined) {
      throw new Specter2Error("UNKNOWN_ADAPTER", `${name.repo} is one adapter, "${adapter}": there is no adapter "${unknown}" to load`, { adapter: unknown });
    }
    return {
      name: name.repo,
      revision: pinned,
      base: { repo: base.repo, revision: base.revision ?? revision },
      adapters: wanted.map((a) => ({ name: a, repo: name.repo, revision: pinned })),
      defaultAdapter: wanted.length > 0 ? adapter : null,
      what: `an AdapterHub adapter ("${adapter}") for ${base.repo}`,
    };
  }
  if (config !== undefined && (config.model_type === undefined || config.model_type === "bert")) {
    if (options.adapters !== undefined && options.adapters !== "all" && options.adapters.length > 0) {
      throw new Specter2Error("UNKNOWN_ADAPTER", `${name.repo} is a base model without adapters: there is no adapter "${options.adapters[0]}" to load`, {
        adapter: options.adapters[0],
      });
    }
    return { name: name.repo, revision: pinned, base: { repo: name.repo, revision: pinned }, adapters: [], defaultAdapter: null, what: "a BERT base model (no adapters)" };
  }
  const found =
    config !== undefined
      ? `its config.json has model_type ${JSON.stringify(config.model_type)}`
      : contents.files !== undefined
        ? `it has ${contents.files.length === 0 ? "no files" : contents.files.join(", ")}`
        : "it has neither file";
  throw new Specter2Error(
    "BAD_CHECKPOINT",
    `${name.repo}@${pinned} is neither SPECTER2's nor a BERT base (config.json with model_type "bert") nor an AdapterHub adapter (adapter_config.json): ${found}`,
    { file: name.repo },
  );
}

/** What a conversion of a plan is made of, as one string (each platform keeps a conversion under a digest of it): the
 *  model format, the dtype, every repo with the commit it was converted from, the adapters' names, the default. */
export function conversionKey(plan: ModelPlan, dtype: ModelDType, commits: readonly (string | undefined)[]): string {
  const [base, ...adapters] = commits;
  return JSON.stringify({
    format: MODEL_FORMAT_VERSION,
    dtype,
    base: [plan.base.repo, base],
    adapters: plan.adapters.map((a, i) => [a.name, a.repo, adapters[i]]),
    default: plan.defaultAdapter,
  });
}
