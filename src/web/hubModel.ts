// A model by its Hub name, in a page: what the name means (src/weights/hub/repos.ts), each repo's listing at its
// revision (src/web/hubFetch.ts), and the conversion of those commits in the dtype asked for: from the Cache API where
// an earlier load kept it, else the raw files fetched (each checked against the listing), the torch .bin read by the
// allowlisted unpickler (src/weights/torch: it runs no code) and converted here (src/weights/hub/convertRepos.ts), then
// kept in the Cache API by commit. The raw files are not kept: only the converted copy (small in int8 or bfloat16).
import { Specter2Error } from "../errors";
import { checkOption } from "../engine/options";
import type { ConvertedModel, RepoFiles } from "../weights/hub/convertRepos";
import { ADAPTER_WEIGHTS, assembleModel, BASE_WEIGHTS, conversionDtype, convertAdapter, convertBase, converterName, json, readJsonObject } from "../weights/hub/convertRepos";
import type { Json } from "../weights/hub/jsonFields";
import { resolveUrl } from "../weights/hub/hubErrors";
import type { HubName, ModelPlan, PlanOptions, RepoKind } from "../weights/hub/repos";
import { conversionKey, planForName, planForRepo, REPO_FILES } from "../weights/hub/repos";
import type { Manifest, ModelDType, Progress, SourceProvenance } from "../weights/modelDir";
import { checkDigest, checkManifest, MANIFEST_FILE, parseJson } from "../weights/modelDir";
import type { FetchedFile, PageHub, RepoListing } from "./hubFetch";
import { DEFAULT_HUB, fetchRepoFile, repoListing } from "./hubFetch";
import { CACHE_NAME, digestHex } from "./fetchSource";

/** The version manifests record as their converter (scripts/build-web.mjs defines it when it bundles). */
declare const __SPECTER2_VERSION__: string;

export interface PageHubOptions {
  /** The Hub or a mirror (default https://huggingface.co). */
  endpoint?: string;
  /** An access token for private or gated repos: sent to the Hub's origin with every request (never hard-code one in
   *  a public page). */
  token?: string;
  /** Of every repo the name does not pin with `@revision`: a branch, tag or commit (default "main"). */
  revision?: string;
  /** How the converted weights are kept (default float32; bfloat16 halves and int8 quarters what the Cache API keeps
   *  and what each load reads back). */
  dtype?: ModelDType;
}

export interface HubModelOptions extends PageHubOptions {
  adapters?: readonly string[] | "all";
  cache?: boolean;
  verify?: boolean;
  onProgress?: (p: Progress) => void;
  onWarning?: (message: string) => void;
}

export interface HubModelFiles {
  /** Where the conversion is kept (a key of the Cache API, not a URL that serves it). */
  location: string;
  manifest: Manifest;
  /** Every file of the model directory, manifest.json included. */
  files: Map<string, Uint8Array>;
  plan: ModelPlan;
}

export async function hubModelFiles(name: HubName, options: HubModelOptions = {}): Promise<HubModelFiles> {
  const dtype = conversionDtype(options.dtype);
  checkOption("verify", options.verify);
  if (options.revision !== undefined && (typeof options.revision !== "string" || options.revision === "")) {
    throw new Specter2Error("BAD_INPUT", `revision must be a branch, tag or commit, got ${JSON.stringify(options.revision)}`, { field: "revision" });
  }
  const hub: PageHub = {
    endpoint: (options.endpoint ?? DEFAULT_HUB).replace(/\/+$/, ""),
    token: options.token,
    cache: (options.cache ?? true) && typeof caches !== "undefined" ? await caches.open(CACHE_NAME) : null,
  };
  const planOptions: PlanOptions = { revision: options.revision, adapters: options.adapters };
  const plan = planForName(name, planOptions) ?? planForRepo(name, await repoContents(hub, name, options.revision ?? "main"), planOptions);
  const parts: { kind: RepoKind; name?: string; repo: string; revision: string }[] = [
    { kind: "base", ...plan.base },
    ...plan.adapters.map((a) => ({ kind: "adapter" as const, name: a.name, repo: a.repo, revision: a.revision })),
  ];
  const listings = await Promise.all(parts.map((p) => repoListing(hub, p.repo, p.revision)));
  const key = conversionKey(
    plan,
    dtype,
    listings.map((l) => l.commit),
  );
  const digest = (await digestHex("SHA-256", new TextEncoder().encode(key))).slice(0, 16);
  const location = `${hub.endpoint}/.specter2-tfjs/${plan.name}/${dtype}-${digest}/`;
  const kept = hub.cache ? await readKept(hub.cache, location, options) : undefined;
  if (kept) return { location, ...kept, plan };
  if (listings.some((l) => l.kept)) {
    // No network: the kept listings say which commits, but their conversion is not kept.
    throw new Specter2Error("MODEL_NOT_FOUND", `the Hub cannot be reached and the Cache API keeps no ${dtype} conversion of ${plan.name} at the commits it last listed`, {
      url: hub.endpoint,
    });
  }
  const converted = await convertFetched(hub, parts, listings, plan, dtype, options.onProgress);
  const files = new Map([...converted.files, [MANIFEST_FILE, json(converted.manifest)]]);
  if (hub.cache) await keep(hub.cache, location, files, options.onWarning ?? console.warn);
  return { location, manifest: converted.manifest, files, plan };
}

/** What a repo that is not SPECTER2's holds: its listing's files, and its adapter_config.json or config.json. */
async function repoContents(hub: PageHub, name: HubName, revision: string): Promise<{ adapterConfig?: Json; config?: Json; files: string[] }> {
  const listing = await repoListing(hub, name.repo, name.revision ?? revision);
  const files = [...listing.files.keys()];
  for (const file of ["adapter_config.json", "config.json"]) {
    if (!listing.files.has(file)) continue;
    const fetched = await fetchRepoFile(hub, listing, file, () => undefined);
    const value = readJsonObject(fetchedFiles(listing, hub, new Map([[file, fetched]])), file, true);
    return file === "config.json" ? { config: value, files } : { adapterConfig: value, files };
  }
  return { files };
}

/** The files the conversion reads of each repo, fetched at their listing's commit (progress over all of them), and
 *  converted in the page. */
async function convertFetched(
  hub: PageHub,
  parts: { kind: RepoKind; name?: string; repo: string; revision: string }[],
  listings: RepoListing[],
  plan: ModelPlan,
  dtype: ModelDType,
  onProgress: ((p: Progress) => void) | undefined,
): Promise<ConvertedModel> {
  const wanted = parts.map((p, i) => filesToFetch(p.kind, listings[i], hub.endpoint));
  const total = wanted.reduce((n, files, i) => n + files.reduce((m, f) => m + listings[i].files.get(f)!.size, 0), 0);
  let loaded = 0;
  const fetched: Map<string, FetchedFile>[] = [];
  for (const [i, files] of wanted.entries()) {
    const got = new Map<string, FetchedFile>();
    for (const file of files) {
      const url = resolveUrl(hub.endpoint, listings[i].repo, listings[i].commit, file);
      got.set(
        file,
        await fetchRepoFile(hub, listings[i], file, (bytes) => {
          loaded += bytes;
          onProgress?.({ file: url, loaded, total });
        }),
      );
    }
    fetched.push(got);
  }
  const provenance = (i: number): SourceProvenance => ({ origin: "download", repo: parts[i].repo, revision: parts[i].revision, commit: listings[i].commit });
  const base = convertBase(fetchedFiles(listings[0], hub, fetched[0]), dtype);
  const adapters = parts.slice(1).map((p, k) => convertAdapter(p.name!, fetchedFiles(listings[k + 1], hub, fetched[k + 1]), base.config, dtype, provenance(k + 1)));
  return assembleModel(base, adapters, {
    dtype,
    baseProvenance: provenance(0),
    defaultAdapter: plan.defaultAdapter ?? undefined,
    converter: converterName(__SPECTER2_VERSION__),
    sha256: (bytes) => digestHex("SHA-256", bytes),
  });
}

/** What the converter reads of a repo of one kind that its listing has: the required files (refused, naming the repo
 *  and commit, if one is not there), the optional ones it has, and the first weights file of the converter's order. */
function filesToFetch(kind: RepoKind, listing: RepoListing, endpoint: string): string[] {
  const set = REPO_FILES[kind];
  const where = `${endpoint}/${listing.repo} at commit ${listing.commit}`;
  const missing = set.required.filter((f) => !listing.files.has(f));
  if (missing.length > 0) throw new Specter2Error("MODEL_NOT_FOUND", `${where} has no ${missing.join(", ")} (it has ${[...listing.files.keys()].join(", ")})`, { file: listing.repo });
  const weights = (kind === "base" ? BASE_WEIGHTS : ADAPTER_WEIGHTS).find((f) => listing.files.has(f));
  if (weights === undefined) throw new Specter2Error("MODEL_NOT_FOUND", `${where} has no weights file (looked for ${set.weights.join(", ")})`, { file: listing.repo });
  return [...set.required, ...set.optional.filter((f) => listing.files.has(f)), weights];
}

/** The fetched files of a repo as the converter reads them, named by their URLs at the listing's commit. */
function fetchedFiles(listing: RepoListing, hub: PageHub, files: ReadonlyMap<string, FetchedFile>): RepoFiles {
  return {
    location: `${hub.endpoint}/${listing.repo}/tree/${listing.commit}`,
    name: (file) => resolveUrl(hub.endpoint, listing.repo, listing.commit, file),
    has: (file) => files.has(file),
    read: (file) => files.get(file)!.bytes,
    digest: (file) => ({ sha256: files.get(file)!.sha256, bytes: files.get(file)!.bytes.byteLength }),
  };
}

/** The conversion an earlier load kept, each file checked against its manifest (sizes always, sha256 unless `verify`
 *  is false); undefined where it is not all there. */
async function readKept(cache: Cache, location: string, options: HubModelOptions): Promise<{ manifest: Manifest; files: Map<string, Uint8Array> } | undefined> {
  const stored = await cache.match(`${location}${MANIFEST_FILE}`);
  if (!stored) return undefined;
  const manifestBytes = new Uint8Array(await stored.arrayBuffer());
  const manifest = checkManifest(parseJson(manifestBytes, `${location}${MANIFEST_FILE}`), `${location}${MANIFEST_FILE}`);
  const total = Object.values(manifest.files).reduce((n, f) => n + f.bytes, 0);
  let loaded = 0;
  const files = new Map<string, Uint8Array>([[MANIFEST_FILE, manifestBytes]]);
  for (const [path, expected] of Object.entries(manifest.files)) {
    const hit = await cache.match(`${location}${path}`);
    if (!hit) return undefined;
    const bytes = new Uint8Array(await hit.arrayBuffer());
    checkDigest(`${location}${path}`, bytes, options.verify === false ? null : await digestHex("SHA-256", bytes), expected);
    files.set(path, bytes);
    loaded += bytes.byteLength;
    options.onProgress?.({ file: `${location}${path}`, loaded, total });
  }
  return { manifest, files };
}

/** Keeps the conversion, its manifest last (a conversion without one is never read back). A file the Cache API will
 *  not keep (its quota, a private window's) is said once: the next load converts again. */
async function keep(cache: Cache, location: string, files: ReadonlyMap<string, Uint8Array>, warn: (message: string) => void): Promise<void> {
  try {
    for (const [path, bytes] of files) if (path !== MANIFEST_FILE) await cache.put(`${location}${path}`, new Response(bytes as Uint8Array<ArrayBuffer>));
    await cache.put(`${location}${MANIFEST_FILE}`, new Response(files.get(MANIFEST_FILE) as Uint8Array<ArrayBuffer>));
  } catch (e) {
    warn(`${location}: the Cache API did not keep the converted model (${e instanceof Error ? e.message : String(e)}), so the next load fetches and converts it again`);
  }
}
