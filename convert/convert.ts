// `specter2 convert`: Hugging Face Hub snapshots on disk (a BERT base + AdapterHub adapters) → our model directory
// (weights/README.md). The conversion itself is src/weights/hub/convertRepos.ts's; here the folders are read and the
// directory is written only once everything is read and checked, atomically, keeping whatever else an existing model
// directory there holds (src/node/modelDirWriter.ts).
import { basename, resolve } from "node:path";
import { createHash } from "node:crypto";
import type { Manifest, ModelDType, SourceProvenance } from "../src/weights/modelDir";
import type { ConvertedAdapter } from "../src/weights/hub/convertRepos";
import { assembleModel, checkNewAdapterName, conversionDtype, convertAdapter as convertAdapterFiles, convertBase, converterName } from "../src/weights/hub/convertRepos";
import type { BertConfig } from "../src/model/config";
import { VERSION } from "../src/node/version";
import { checkReplaceable, writeModelDirectory } from "../src/node/modelDirWriter";
import { folderRepoFiles } from "../src/hub/repoFolder";
import { folderProvenance } from "../src/hub/hfCache";
import { Specter2Error } from "../src/errors";

export interface AdapterSource {
  /** What users will call the adapter; defaults to the directory's base name. */
  name?: string;
  dir: string;
  /** Where the directory's files came from, for the manifest; default: a local folder (src/hub/obtainSources.ts). */
  provenance?: SourceProvenance;
}

export interface ConvertOptions {
  base: string;
  adapters: AdapterSource[];
  out: string;
  /** Where the base's files came from, for the manifest; default: a local folder. */
  baseProvenance?: SourceProvenance;
  dtype?: ModelDType;
  /** The adapter a call that names none uses (manifest.json's default_adapter); default: the first adapter given. */
  defaultAdapter?: string;
  /** How the manifest names a source directory (default: its absolute path); the demo model's are temporary. */
  describeSource?: (dir: string) => string;
}

export async function convertModel(options: ConvertOptions): Promise<Manifest> {
  const dtype = conversionDtype(options.dtype);
  const out = resolve(options.out);
  const adapterSources = namedAdapters(options.adapters);
  // The files a conversion wrote there before: replaced or dropped; anything else in `out` is kept.
  const previous = checkReplaceable(out);

  const baseDir = resolve(options.base);
  const base = convertBase(folderRepoFiles(baseDir, "--base"), dtype);
  const adapters = adapterSources.map(({ name, dir, provenance }) => convertAdapter(name, dir, base.config, dtype, provenance));
  const converted = await assembleModel(base, adapters, {
    dtype,
    baseProvenance: options.baseProvenance ?? folderProvenance(baseDir),
    defaultAdapter: options.defaultAdapter,
    describeSource: options.describeSource,
    converter: converterName(VERSION),
    sha256: async (bytes) => sha256(bytes),
  });
  writeModelDirectory(out, converted, previous);
  return converted.manifest;
}

/** Names resolved and checked (safe file names, not "base"/"none", none twice), directories made absolute. */
export function namedAdapters(sources: AdapterSource[]): (AdapterSource & { name: string })[] {
  const seen = new Set<string>();
  return sources.map((s) => {
    const dir = resolve(s.dir);
    const name = s.name ?? basename(dir);
    checkNewAdapterName(name);
    if (seen.has(name)) throw new Specter2Error("BAD_INPUT", `adapter name "${name}" is given twice`, { adapter: name });
    seen.add(name);
    return { ...s, name, dir };
  });
}

/** One adapter folder read, checked against the base's config (hidden size, layers) and converted to `dtype`. */
export function convertAdapter(name: string, dir: string, base: BertConfig, dtype: ModelDType, provenance?: SourceProvenance): ConvertedAdapter {
  return convertAdapterFiles(name, folderRepoFiles(dir, `--adapter ${name}`), base, dtype, provenance ?? folderProvenance(dir));
}

export function sha256(data: Uint8Array | string): string {
  return createHash("sha256").update(data).digest("hex");
}
