// SPECTER2's base model and the chosen adapters, of one variant, or any repos and folders named instead:
// each from the Hugging Face cache where it holds them, else fetched from the Hub into
// `<out>/hub/<owner>--<name>/`, one repo folder each, ready for convertModel.
import { basename, join } from "node:path";
import type { HubConnection } from "./downloadHubFile";
import { DownloadProgress } from "./downloadProgress";
import type { ObtainedSource, SourceRequest } from "./obtainSources";
import { obtainSources } from "./obtainSources";
import { parseSourceRef, repoName } from "./sourceRef";
import { adapterRepo, DEFAULT_VARIANT, variantOf } from "./specter2Repos";
import { checkAdapterName } from "../weights/modelDir";
import { Specter2Error } from "../errors";

export const HUB_DIR = "hub";

export interface ExtraAdapter {
  /** Default: the repo's name (`owner/NAME`) or the folder's base name. */
  name?: string;
  /** A folder, or a Hub repo `owner/name[@revision]`. */
  ref: string;
}

export interface DownloadSpecter2Options {
  out: string;
  /** Of every repo that names no `@REV` of its own. */
  revision: string;
  /** original (default) or aug2023refresh. */
  variant?: string;
  /** The variant's adapters to take, by name (proximity, adhoc_query, classification, regression). */
  adapters: string[];
  /** In place of the variant's base: a folder or a Hub repo `owner/name[@revision]`. */
  base?: string;
  /** More adapters, or another repo for one of the variant's names (it replaces that one). */
  extraAdapters?: ExtraAdapter[];
  /** The Hub; a function is called only if something must be fetched. */
  hub: HubConnection | (() => HubConnection);
  /** The Hugging Face cache directory, looked in first (hfCacheDir()). */
  cache: string;
  /** Never touch the network: what the cache lacks is an error naming it. */
  offline?: boolean;
  progress?: DownloadProgress;
}

export type DownloadedRepo = ObtainedSource;

export interface DownloadedSpecter2 {
  base: DownloadedRepo;
  adapters: (DownloadedRepo & { name: string })[];
}

export async function downloadSpecter2(options: DownloadSpecter2Options): Promise<DownloadedSpecter2> {
  const variant = options.variant ?? DEFAULT_VARIANT;
  const { revision } = options;
  const base = options.base === undefined ? { kind: "hub" as const, repo: variantOf(variant).base, revision } : parseSourceRef(options.base, revision);
  // Everything named is checked before anything is fetched.
  const adapters = new Map<string, SourceRequest>();
  for (const name of options.adapters) {
    const repo = adapterRepo(name, variant);
    if (adapters.has(name)) throw new Specter2Error("BAD_INPUT", `adapter "${name}" is given twice`, { adapter: name });
    adapters.set(name, { kind: "adapter", name, ref: { kind: "hub", repo, revision } });
  }
  const extras = new Set<string>();
  for (const extra of options.extraAdapters ?? []) {
    const ref = parseSourceRef(extra.ref, revision);
    const name = extra.name ?? (ref.kind === "hub" ? repoName(ref.repo) : basename(ref.dir));
    checkAdapterName(name);
    if (extras.has(name)) throw new Specter2Error("BAD_INPUT", `adapter "${name}" is given twice`, { adapter: name });
    extras.add(name);
    adapters.set(name, { kind: "adapter", name, ref });
  }
  const hub = options.hub;
  const [baseSource, ...adapterSources] = await obtainSources([{ kind: "base", ref: base }, ...adapters.values()], {
    cache: options.cache,
    offline: options.offline ?? false,
    hub: typeof hub === "function" ? hub : () => hub,
    fetchInto: { dir: join(options.out, HUB_DIR) },
    progress: options.progress ?? new DownloadProgress(),
  });
  return { base: baseSource, adapters: adapterSources.map((a) => ({ ...a, name: a.name! })) };
}
