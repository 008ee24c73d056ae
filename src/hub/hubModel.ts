// A model by its Hub name, in Node: what the name means (src/weights/hub/repos.ts), its repos taken from the Hugging
// Face cache or fetched into it (checked against the Hub's hashes or the blobs' names: src/hub/obtainSources.ts), and
// converted once per repos' commits and dtype into huggingface_hub's assets cache:
//   <assets>/specter2-tfjs/models--{owner}--{name}/{dtype}-{key}/   a model directory (weights/README.md)
// where the key is a digest of every repo's commit, the adapters and the default. A second load finds the commits in
// the cache's refs and the converted directory beside them: no network, no conversion, no hashing of the raw files.
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { ModelDType, Progress } from "../weights/modelDir";
import { MANIFEST_FILE } from "../weights/modelDir";
import type { HubName, ModelPlan, PlanOptions, RepoContents } from "../weights/hub/repos";
import { conversionKey, parseHubName, planForName, planForRepo, REPO_FILES, specter2Part } from "../weights/hub/repos";
import { assembleModel, conversionDtype, convertAdapter, convertBase, converterName, readJsonObject } from "../weights/hub/convertRepos";
import type { Json } from "../weights/hub/jsonFields";
import { VERSION } from "../node/version";
import { checkReplaceable, writeModelDirectory } from "../node/modelDirWriter";
import { Specter2Error } from "../errors";
import { DownloadProgress, downloadHubFile } from "./downloadFile";
import { cachedSnapshot, hfAssetsDir, hfCacheDir, hubOfflineFromEnv, lookupCache } from "./hfCache";
import type { HubConnection } from "./hubHttp";
import { hubEndpoint, hubToken } from "./hubHttp";
import type { ObtainedSource, SourceRequest } from "./obtainSources";
import { obtainSources, provenanceOf } from "./obtainSources";
import { folderRepoFiles } from "./repoFolder";

export interface HubLoadOptions {
  /** Of every repo the name does not pin with `@revision`: a branch, tag or commit (default "main"). */
  revision?: string;
  /** How the converted weights are stored (default float32; float16, bfloat16 and int8 are smaller). */
  dtype?: ModelDType;
  /** Adapters to fetch and convert: names, or "all" (default: the name's four for SPECTER2, the adapter itself for an
   *  adapter repo). */
  adapters?: readonly string[] | "all";
  /** Never touch the network: the Hugging Face cache must hold the repos (default: HF_HUB_OFFLINE). */
  offline?: boolean;
  /** The Hub (default: HF_ENDPOINT, else https://huggingface.co). */
  endpoint?: string;
  /** An access token for private or gated repos (default: HF_TOKEN). */
  token?: string;
  /** Bytes fetched so far of the files being fetched. */
  onProgress?: (p: Progress) => void;
}

export interface HubModel {
  /** The converted model directory. */
  dir: string;
  plan: ModelPlan;
  /** Whether the converted directory was there already. */
  converted: "cached" | "now";
}

/** The environment's defaults for what the options leave out, and where things go. */
interface Settings {
  cache: string;
  assets: string;
  offline: boolean;
  hub: () => HubConnection;
  progress: DownloadProgress;
}

/** `log`: where a line per file taken from the cache or fetched goes (the CLI's stderr; the library's nowhere). */
export async function hubModelDirectory(name: HubName, options: HubLoadOptions = {}, log: NodeJS.WriteStream | null = null, env: NodeJS.ProcessEnv = process.env): Promise<HubModel> {
  const dtype = conversionDtype(options.dtype);
  const settings: Settings = {
    cache: hfCacheDir(env),
    assets: hfAssetsDir(env),
    offline: options.offline ?? hubOfflineFromEnv(env),
    hub: () => ({ endpoint: options.endpoint?.replace(/\/+$/, "") ?? hubEndpoint(env), token: options.token ?? hubToken(env) }),
    progress: new DownloadProgress(log, options.onProgress),
  };
  const planOptions: PlanOptions = { revision: options.revision, adapters: options.adapters };
  const plan = planForName(name, planOptions) ?? planForRepo(name, await repoContents(name, options.revision ?? "main", settings), planOptions);
  const requests: SourceRequest[] = [
    { kind: "base", ref: { kind: "hub", ...plan.base } },
    ...plan.adapters.map((a): SourceRequest => ({ kind: "adapter", name: a.name, ref: { kind: "hub", repo: a.repo, revision: a.revision } })),
  ];
  // Where the cache knows every repo's commit and the conversion of those commits is there, nothing else is read.
  const lookups = requests.map((r) => (r.ref.kind === "hub" ? lookupCache(settings.cache, r.ref.repo, r.ref.revision, REPO_FILES[r.kind]) : undefined));
  if (lookups.every((l) => l?.hit)) {
    const dir = convertedDir(
      settings.assets,
      plan,
      dtype,
      lookups.map((l) => l!.commit),
    );
    if (existsSync(join(dir, MANIFEST_FILE))) return { dir, plan, converted: "cached" };
  }
  const obtained = await obtainSources(requests, { cache: settings.cache, offline: settings.offline, hub: settings.hub, fetchInto: "cache", progress: settings.progress });
  const dir = convertedDir(
    settings.assets,
    plan,
    dtype,
    obtained.map((o) => o.commit),
  );
  if (existsSync(join(dir, MANIFEST_FILE))) return { dir, plan, converted: "cached" };
  await convertInto(dir, obtained, plan, dtype);
  return { dir, plan, converted: "now" };
}

/** What a Hub name resolves to and what this machine holds of it (`specter2 info NAME`), without the network. */
export interface HubNameInfo {
  name: string;
  revision: string;
  /** The plan; null for a repo that is not SPECTER2's whose files the cache does not hold (what it is is read from
   *  them at its first load). */
  plan: ModelPlan | null;
  /** Each repo of the plan in the Hugging Face cache: its commit and snapshot, or what is missing. */
  repos: { part: string; repo: string; revision: string; commit?: string; snapshot?: string; missing?: string }[];
  /** The conversions of this name there are, by dtype; `current`: of the commits the cache's refs now name. */
  converted: { dir: string; dtype: string; current: boolean }[];
  hubCache: string;
  assets: string;
}

export async function describeHubName(name: HubName, options: Pick<HubLoadOptions, "revision" | "adapters"> = {}, env: NodeJS.ProcessEnv = process.env): Promise<HubNameInfo> {
  const settings: Settings = { cache: hfCacheDir(env), assets: hfAssetsDir(env), offline: true, hub: () => ({ endpoint: hubEndpoint(env) }), progress: new DownloadProgress(null) };
  const planOptions: PlanOptions = { revision: options.revision, adapters: options.adapters };
  let plan = planForName(name, planOptions) ?? null;
  if (plan === null) {
    const found = cachedSnapshot(settings.cache, name.repo, name.revision ?? options.revision ?? "main");
    if (found.snapshot !== undefined) plan = planForRepo(name, await repoContents(name, options.revision ?? "main", settings), planOptions);
  }
  const parts =
    plan === null
      ? []
      : [{ part: "base", kind: "base" as const, ...plan.base }, ...plan.adapters.map((a) => ({ part: a.name, kind: "adapter" as const, repo: a.repo, revision: a.revision }))];
  const repos = parts.map(({ part, kind, repo, revision }): HubNameInfo["repos"][number] => {
    const l = lookupCache(settings.cache, repo, revision, REPO_FILES[kind]);
    return l.hit ? { part, repo, revision, commit: l.commit, snapshot: l.dir } : { part, repo, revision, ...(l.commit === undefined ? {} : { commit: l.commit }), missing: l.missing };
  });
  const folder = join(settings.assets, "specter2-tfjs", `models--${name.repo.split("/").join("--")}`);
  const commits = repos.map((r) => (r.snapshot === undefined ? undefined : r.commit));
  const converted = (existsSync(folder) ? readdirSync(folder) : [])
    .filter((entry) => existsSync(join(folder, entry, MANIFEST_FILE)))
    .map((entry) => {
      const dtype = entry.slice(0, entry.lastIndexOf("-"));
      const current = plan !== null && commits.every((c) => c !== undefined) && convertedDir(settings.assets, plan, dtype as ModelDType, commits) === join(folder, entry);
      return { dir: join(folder, entry), dtype, current };
    });
  return { name: name.repo, revision: name.revision ?? options.revision ?? "main", plan, repos, converted, hubCache: settings.cache, assets: settings.assets };
}

/** `model` as Specter2.load and `--model` take it: an existing path or anything that is not a Hub name is a model
 *  directory (as given); a Hub name is converted (or found converted) first. */
export async function modelDirectory(model: string, options: HubLoadOptions = {}, log: NodeJS.WriteStream | null = null): Promise<{ dir: string; hub?: HubModel }> {
  const name = existsSync(model) ? undefined : parseHubName(model);
  if (name === undefined) {
    // A directory is loaded as it is: what only a Hub name can use is refused rather than ignored.
    const hubOnly = (["revision", "dtype", "offline", "endpoint", "token"] as const).filter((o) => options[o] !== undefined);
    if (hubOnly.length > 0) {
      throw new Specter2Error("BAD_INPUT", `${hubOnly.join(", ")} apply to a Hub name, and ${model} is a model directory (convert it again for another dtype)`, {
        field: hubOnly[0],
      });
    }
    return { dir: model };
  }
  try {
    const hub = await hubModelDirectory(name, options, log);
    return { dir: hub.dir, hub };
  } catch (e) {
    // A mistyped relative path reads as a Hub name too: say so where the name is not SPECTER2's.
    if (e instanceof Specter2Error && specter2Part(name.repo) === undefined) {
      e.message += `\n(${model} was taken for a Hub name, there being no directory ${resolve(model)})`;
    }
    throw e;
  }
}

/** Where the conversion of these commits in `dtype` is (or goes). */
export function convertedDir(assets: string, plan: ModelPlan, dtype: ModelDType, commits: (string | undefined)[]): string {
  const digest = createHash("sha256")
    .update(conversionKey(plan, dtype, commits))
    .digest("hex")
    .slice(0, 16);
  return join(assets, "specter2-tfjs", `models--${plan.name.split("/").join("--")}`, `${dtype}-${digest}`);
}

async function convertInto(dir: string, obtained: ObtainedSource[], plan: ModelPlan, dtype: ModelDType): Promise<void> {
  const [baseSource, ...adapterSources] = obtained;
  const base = convertBase(folderRepoFiles(baseSource.dir, plan.base.repo), dtype);
  const adapters = adapterSources.map((a) => convertAdapter(a.name!, folderRepoFiles(a.dir, a.repo), base.config, dtype, provenanceOf(a)));
  const converted = await assembleModel(base, adapters, {
    dtype,
    baseProvenance: provenanceOf(baseSource),
    defaultAdapter: plan.defaultAdapter ?? undefined,
    converter: converterName(VERSION),
    sha256: async (bytes) => createHash("sha256").update(bytes).digest("hex"),
  });
  writeModelDirectory(dir, converted, checkReplaceable(dir));
}

/** What a repo that is not SPECTER2's holds: its adapter_config.json or config.json, from the cache's snapshot of the
 *  revision, else fetched (both small, into a temporary folder; the conversion fetches the repo into the cache). */
async function repoContents(name: HubName, revision: string, settings: Settings): Promise<RepoContents> {
  const rev = name.revision ?? revision;
  const found = cachedSnapshot(settings.cache, name.repo, rev);
  const read = (dir: string, file: string): Json | undefined => readJsonObject(folderRepoFiles(dir, name.repo), file, false);
  if (found.snapshot !== undefined && (existsSync(join(found.snapshot, "adapter_config.json")) || existsSync(join(found.snapshot, "config.json")))) {
    return { adapterConfig: read(found.snapshot, "adapter_config.json"), config: read(found.snapshot, "config.json") };
  }
  if (settings.offline) {
    throw new Specter2Error(
      "MODEL_NOT_FOUND",
      `offline (HF_HUB_OFFLINE=1 or the offline option), and the Hugging Face cache ${settings.cache} does not hold ${name.repo}@${rev} (${found.snapshot === undefined ? found.missing : `its snapshot ${found.snapshot} has neither adapter_config.json nor config.json`}) to say what it is`,
      { file: settings.cache },
    );
  }
  const dir = mkdtempSync(join(tmpdir(), "specter2-hub-probe-"));
  try {
    const hub = settings.hub();
    for (const file of ["adapter_config.json", "config.json"]) {
      const fetched = await downloadHubFile({ repo: name.repo, revision: rev, file, optional: true }, dir, hub, settings.progress);
      if (fetched.outcome !== "absent") return file === "config.json" ? { config: read(dir, file) } : { adapterConfig: read(dir, file) };
    }
    return {};
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
