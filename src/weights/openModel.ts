// A converted model directory (src/weights/modelDir.ts), wherever its files are: a folder (Node) or a URL (the
// browser). The entry gives a ModelSource that reads a file's bytes; everything checked about the files, and the
// tensors, the tokenizer and the adapters they make, is here once.
import type * as tf from "@tensorflow/tfjs-core";
import type { AdapterSpec, BertConfig } from "../model/config";
import { checkBertConfig } from "../model/config";
import { tokenizerFromFiles, type BertTokenizer } from "../tokenizer/bertTokenizer";
import { Specter2Error } from "../errors";
import { checkDigest } from "./integrity";
import type { Manifest } from "./modelDir";
import type { ModelSource } from "./modelSource";
import {
  adapterConfigFile,
  adapterWeightsFile,
  BASE_WEIGHTS_FILE,
  checkAdapterName,
  CONFIG_FILE,
  MANIFEST_FILE,
  MODEL_FORMAT,
  MODEL_FORMAT_VERSION,
  TOKENIZER_CONFIG_FILE,
  VOCAB_FILE,
} from "./modelDir";
import { parseSafetensors, readSafetensorsRanges } from "./safetensors";
import { floatTensors } from "./tensors";

export type { ModelSource } from "./modelSource";

export interface OpenedModel {
  source: ModelSource;
  manifest: Manifest;
  config: BertConfig;
  /** Check each file against the manifest's digest as it is read. */
  verify: boolean;
}

export function parseJson(bytes: Uint8Array, name: string): unknown {
  try {
    return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (e) {
    throw new Specter2Error("BAD_CHECKPOINT", `${name}: not valid JSON: ${(e as Error).message}`, { file: name }, { cause: e });
  }
}

/**
 * The manifest as the loaders may trust it: our format and version, a base, and paths (its `files`, each adapter's
 * `config` and `weights`) that stay inside the model directory: relative, plain names joined by "/" (no "..", ".",
 * empty names, backslashes, drive letters or absolute paths). Where the files are on disk, src/node/loadModelDir.ts
 * also follows symlinks. A violation is BAD_CHECKPOINT naming the manifest and the entry.
 */
export function checkManifest(value: unknown, name: string): Manifest {
  const manifest = value as Partial<Manifest> | null; // untrusted JSON until checked
  if (manifest?.format !== MODEL_FORMAT) {
    throw new Specter2Error("BAD_CHECKPOINT", `${name}: not a specter2-tfjs model manifest (format ${JSON.stringify(manifest?.format)}); convert Hub files with \`specter2 convert\``, {
      file: name,
      field: "format",
    });
  }
  if (manifest.formatVersion !== MODEL_FORMAT_VERSION) {
    throw new Specter2Error(
      "BAD_CHECKPOINT",
      `${name}: model format version ${manifest.formatVersion}, this version of specter2-tfjs reads ${MODEL_FORMAT_VERSION}; re-run \`specter2 convert\``,
      { file: name, field: "formatVersion" },
    );
  }
  const base = manifest.base as Partial<Manifest["base"]> | undefined;
  if (typeof base !== "object" || base === null || typeof base.source !== "string") {
    throw new Specter2Error("BAD_CHECKPOINT", `${name}: "base" is missing or not an object with a "source"; re-run \`specter2 convert\``, { file: name, field: "base" });
  }
  for (const [field, path] of manifestPaths(manifest as Manifest, name)) {
    const refuse = (why: string): never => {
      throw new Specter2Error("BAD_CHECKPOINT", `${name}: ${field} ${JSON.stringify(path)} ${why}; a model directory's files must stay inside it`, { file: name, field });
    };
    if (typeof path !== "string" || path === "") refuse("is not a relative path");
    const p = path as string;
    if (p.includes("\\") || p.includes("\0") || /^[A-Za-z]:/.test(p) || p.startsWith("/") || /^[a-z][a-z0-9+.-]*:/i.test(p)) refuse("is not a relative path with forward slashes");
    if (p.split("/").some((part) => part === "" || part === "." || part === "..")) refuse('has an empty, "." or ".." component');
  }
  return manifest as Manifest;
}

/** Every path the manifest names, with the field it is in; the shapes of `files` and `adapters` checked on the way. */
export function manifestPaths(manifest: Manifest, name: string): [string, unknown][] {
  const refuse = (field: string, value: unknown, why: string): never => {
    throw new Specter2Error("BAD_CHECKPOINT", `${name}: ${field} ${JSON.stringify(value)} ${why}`, { file: name, field });
  };
  const { files, adapters } = manifest;
  if (typeof files !== "object" || files === null || Array.isArray(files)) refuse("files", files, "is not an object of files");
  if (typeof adapters !== "object" || adapters === null || Array.isArray(adapters)) refuse("adapters", adapters, "is not an object of adapters");
  const entries: [string, unknown][] = Object.keys(files).map((path) => ["files", path]);
  for (const [adapter, entry] of Object.entries(adapters)) {
    try {
      checkAdapterName(adapter);
    } catch {
      refuse("adapters", adapter, "is not an adapter name (1-100 of A-Z a-z 0-9 _ . -, not starting with . or -)");
    }
    const paths = entry as { config?: unknown; weights?: unknown } | null; // untrusted JSON until checked
    entries.push([`adapters.${adapter}.config`, paths?.config], [`adapters.${adapter}.weights`, paths?.weights]);
  }
  return entries;
}

/** The manifest (read here unless the caller has it, checked) and the config; nothing else is read yet. */
export async function openModel(source: ModelSource, options: { verify?: boolean; manifest?: Manifest } = {}): Promise<OpenedModel> {
  const manifest = options.manifest ?? (await readManifest(source));
  const model: Omit<OpenedModel, "config"> = { source, manifest, verify: options.verify ?? false };
  const config = checkBertConfig(parseJson(await readChecked(model, CONFIG_FILE), source.name(CONFIG_FILE)), source.name(CONFIG_FILE));
  return { ...model, config };
}

export async function readManifest(source: ModelSource): Promise<Manifest> {
  const name = source.name(MANIFEST_FILE);
  return checkManifest(parseJson((await source.read(MANIFEST_FILE))!, name), name);
}

/** A file's bytes, checked against the manifest's digest when the model is opened with verify. */
export async function readChecked(model: Omit<OpenedModel, "config">, path: string): Promise<Uint8Array> {
  const bytes = (await model.source.read(path))!;
  const expected = model.manifest.files[path];
  if (model.verify) {
    const name = model.source.name(path);
    if (!expected) throw new Specter2Error("BAD_CHECKPOINT", `${model.source.name(MANIFEST_FILE)}: lists no digest for ${path}, so it cannot be verified`, { file: name });
    checkDigest(name, bytes, await model.source.sha256(bytes), expected);
  }
  return bytes;
}

/** The file's tensors as float32, refused if any value is NaN or ±Inf. Read a tensor at a time where the source can
 *  (the peak then holds each tensor once, not the whole file beside its tensors), else whole. */
async function finiteTensors(model: OpenedModel, path: string): Promise<Map<string, tf.Tensor>> {
  const name = model.source.name(path);
  const raw =
    !model.verify && model.source.withRanges ? await model.source.withRanges(path, (reader) => readSafetensorsRanges(reader, name)) : parseSafetensors(await readChecked(model, path), name);
  return floatTensors(raw.tensors, name);
}

export async function loadBaseTensors(model: OpenedModel): Promise<{ tensors: Map<string, tf.Tensor>; origin: string }> {
  return { tensors: await finiteTensors(model, BASE_WEIGHTS_FILE), origin: model.source.name(BASE_WEIGHTS_FILE) };
}

export async function loadAdapterFiles(model: OpenedModel, name: string): Promise<{ spec: AdapterSpec; tensors: Map<string, tf.Tensor>; origin: string }> {
  const { source, manifest } = model;
  if (!manifest.adapters[name]) {
    throw new Specter2Error("UNKNOWN_ADAPTER", `${source.location}: no adapter "${name}" (it has: ${Object.keys(manifest.adapters).join(", ") || "none"})`, {
      file: source.location,
      adapter: name,
    });
  }
  const spec = parseJson(await readChecked(model, adapterConfigFile(name)), source.name(adapterConfigFile(name))) as AdapterSpec;
  return { spec, tensors: await finiteTensors(model, adapterWeightsFile(name)), origin: source.name(adapterWeightsFile(name)) };
}

/** The model's tokenizer: vocab.txt, and tokenizer_config.json where there is one (else BertTokenizer's uncased
 *  defaults, as in transformers). */
export async function loadModelTokenizer(model: Omit<OpenedModel, "config">): Promise<BertTokenizer> {
  const { source } = model;
  const vocab = await readChecked(model, VOCAB_FILE);
  const config = model.manifest.files[TOKENIZER_CONFIG_FILE] ? await readChecked(model, TOKENIZER_CONFIG_FILE) : await source.read(TOKENIZER_CONFIG_FILE, true);
  const configName = source.name(TOKENIZER_CONFIG_FILE);
  return tokenizerFromFiles(new TextDecoder().decode(vocab), source.name(VOCAB_FILE), config === null ? null : parseJson(config, configName), configName);
}
