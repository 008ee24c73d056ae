// Our model directory: the layout `specter2 convert` writes and the loaders read (weights/README.md), wherever its
// files are. File names, the format version, the manifest's shape and its checks, where the files are read from
// (ModelSource, OpenedModel) and the integrity checks on what they hold live here and nowhere else. Free of tfjs, so
// that the public declarations that name these types (the browser entry's src/web/fetchSource.ts, the Node entry's
// src/node/modelDirectory.ts) reach no tfjs types through them.
import type { ErrorCode, ErrorDetails } from "../errors";
import { Specter2Error } from "../errors";
import type { AdapterSite, BertConfig } from "../model/config";
import type { RangeReader } from "./safetensors";

export const MODEL_FORMAT = "specter2-tfjs-model";
/** Bump when the layout or a file's meaning changes; loaders refuse versions they do not know. */
export const MODEL_FORMAT_VERSION = 1;

export const MANIFEST_FILE = "manifest.json";
export const CONFIG_FILE = "config.json";
export const VOCAB_FILE = "vocab.txt";
export const TOKENIZER_CONFIG_FILE = "tokenizer_config.json";
export const BASE_WEIGHTS_FILE = "model.safetensors";
export const ADAPTERS_DIR = "adapters";

/** Adapter names become file names and are typed by users: letters, digits, `_`, `.`, `-`; no leading dot or dash. */
const ADAPTER_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$/;

export function checkAdapterName(name: string): void {
  if (!ADAPTER_NAME.test(name)) {
    throw new Specter2Error("BAD_INPUT", `adapter name ${JSON.stringify(name)} is not a safe file name: use 1-100 of A-Z a-z 0-9 _ . - (not starting with . or -)`, { adapter: name });
  }
}

/** Relative paths (forward slashes, as stored in the manifest). */
export function adapterConfigFile(name: string): string {
  checkAdapterName(name);
  return `${ADAPTERS_DIR}/${name}.json`;
}

export function adapterWeightsFile(name: string): string {
  checkAdapterName(name);
  return `${ADAPTERS_DIR}/${name}.safetensors`;
}

/** How the weights are stored. float16 and bfloat16 halve the size, int8 quarters it (src/weights/dtypes.ts's
 *  INT8_SCHEME); every one loads at any precision (widened or dequantized to float32 first). */
export type ModelDType = "float32" | "float16" | "bfloat16" | "int8";
export const MODEL_DTYPES: readonly ModelDType[] = ["float32", "float16", "bfloat16", "int8"];
/** The safetensors dtype of the weight matrices; vectors (biases, LayerNorm) stay F32 in bfloat16 and int8 models. */
export const SAFETENSORS_DTYPE = { float32: "F32", float16: "F16", bfloat16: "BF16", int8: "I8" } as const;

/** manifest.json's record of stored int8 weights: which scheme, and how many matrices are stored so. */
export interface StoredQuantization {
  scheme: "s8-symmetric-per-row";
  /** A matrix `name` (I8) has its scales in `name + scaleSuffix` (F32, one per row). */
  scaleSuffix: ".scale";
}

/** BAD_CHECKPOINT unless the manifest's dtype is one this version reads (and, for int8, its quantization record is ours). */
export function checkStoredDtype(manifest: Pick<Manifest, "dtype" | "quantization">, name: string): void {
  if (!MODEL_DTYPES.includes(manifest.dtype)) {
    throw new Specter2Error("BAD_CHECKPOINT", `${name}: dtype ${JSON.stringify(manifest.dtype)} is not one of ${MODEL_DTYPES.join(", ")}; re-run \`specter2 convert\``, {
      file: name,
      field: "dtype",
    });
  }
  const q = manifest.quantization;
  if (manifest.dtype === "int8" && (q?.scheme !== "s8-symmetric-per-row" || q.scaleSuffix !== ".scale")) {
    throw new Specter2Error("BAD_CHECKPOINT", `${name}: int8 weights without a known quantization record (${JSON.stringify(q)}); re-run \`specter2 convert --dtype int8\``, {
      file: name,
      field: "quantization",
    });
  }
}

/** Adapter tensors in adapters/<name>.safetensors: `layer.{i}.{site}.{module}.{weight|bias}`. */
export type AdapterModuleName = "adapter_down" | "adapter_up" | "adapter_norm_before" | "adapter_norm_after";

export function adapterTensorName(layer: number, site: AdapterSite, module: AdapterModuleName, param: "weight" | "bias"): string {
  return `layer.${layer}.${site}.${module}.${param}`;
}

export interface FileDigest {
  sha256: string;
  bytes: number;
}

export interface SourceFile extends FileDigest {
  /** Relative to the source directory. */
  path: string;
}

/** How a converted part's files were obtained: a folder given as such, the Hugging Face cache, or a download. */
export type SourceOrigin = "folder" | "cache" | "download";

/**
 * Where a base or an adapter came from, so that a result can be traced to the exact weights. All optional:
 * directories converted before these were recorded lack them, and a folder has no repository or commit.
 */
export interface SourceProvenance {
  origin?: SourceOrigin;
  /** The Hub repository (its current name, after any redirect of a renamed one). */
  repo?: string;
  /** The name asked for, where the Hub redirected it to `repo` (e.g. a first-release name). */
  requestedRepo?: string;
  /** The revision asked for (a branch, tag or commit). */
  revision?: string;
  /** The commit it resolved to. */
  commit?: string;
}

export interface ManifestAdapter extends SourceProvenance {
  /** Relative paths inside the model directory. */
  config: string;
  weights: string;
  /** Absolute path of the Hub adapter directory it was converted from. */
  source: string;
  sourceFiles: SourceFile[];
  /** Files of the source directory deliberately not converted (prediction heads). */
  skipped: string[];
}

export interface Manifest {
  format: typeof MODEL_FORMAT;
  formatVersion: number;
  dtype: ModelDType;
  /** int8 models: how their matrices are stored (absent otherwise). */
  quantization?: StoredQuantization;
  /** Every file of the model directory except manifest.json, by relative path. */
  files: Record<string, FileDigest>;
  base: SourceProvenance & {
    source: string;
    files: SourceFile[];
    /** Checkpoint tensors that are not part of the encoder (heads, buffers), by their original names. */
    ignored: string[];
  };
  adapters: Record<string, ManifestAdapter>;
  /** The adapter a call that names none uses (null: the bare base); absent in older directories, where it is the
   *  first adapter (src/engine/defaults.ts). `download` records proximity, `convert` its first --adapter. */
  default_adapter?: string | null;
  /** "specter2-tfjs <version>" */
  converter: string;
  /** ISO 8601 */
  created: string;
  /** ISO 8601: when adapters were last added or removed in place (`convert --into`); absent if never. */
  updated?: string;
}

/** tokenizer_config.json as we store it: only what a BERT WordPiece tokenizer needs, with safe values. */
export interface TokenizerConfigFile {
  do_lower_case: boolean;
  strip_accents: boolean | null;
  tokenize_chinese_chars: boolean;
  model_max_length: number;
  unk_token: string;
  sep_token: string;
  pad_token: string;
  cls_token: string;
  mask_token: string;
}

/** A model file's JSON, read as strict UTF-8; BAD_CHECKPOINT naming the file if it is not valid. */
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
 * empty names, backslashes, drive letters or absolute paths). Where the files are on disk, src/node/modelDirectory.ts
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

/** How far a load has fetched (onProgress): the file being fetched, and bytes so far of the total of the files it
 *  fetches (as far as known: in a page, every file's size from the start; in Node, each as its download starts). */
export interface Progress {
  /** The file being fetched (its URL, or its repo and name). */
  file: string;
  loaded: number;
  total: number;
}

/** Where a model directory's files are read from (src/weights/openModel.ts reads them): a folder in Node, a URL in the
 *  browser. */
export interface ModelSource {
  /** The directory or URL as the caller gave it. */
  readonly location: string;
  /** How errors and fields name one of its files (a path or a URL). */
  name(path: string): string;
  /** A file's bytes by its manifest path; MODEL_NOT_FOUND naming it if it is not there. `optional`: null then. */
  read(path: string, optional?: boolean): Promise<Uint8Array | null>;
  /** Hex sha256 of bytes, as the platform computes it (node:crypto, SubtleCrypto). */
  sha256(bytes: Uint8Array): Promise<string>;
  /** Where files can be read at offsets (Node): `use` gets the file open for such reads, closed when it returns. The
   *  weights are then read a tensor at a time instead of whole (not with verify, whose digest needs the whole file). */
  withRanges?<T>(path: string, use: (reader: RangeReader) => T): Promise<T>;
}

/** A model directory opened: where its files are, and its manifest and config, checked. src/weights/openModel.ts's
 *  loaders read the rest from it. */
export interface OpenedModel {
  source: ModelSource;
  manifest: Manifest;
  config: BertConfig;
  /** Check each file against the manifest's digest as it is read. */
  verify: boolean;
}

// Integrity checks that hold wherever the model runs: a file's bytes against the manifest's digest, weights and
// outputs that must be finite. Errors name the file (and the tensor) so a corrupt download is found at once.

/** A model file that fails its checks (BAD_CHECKPOINT), or an output that is not finite (NOT_FINITE). */
export class IntegrityError extends Specter2Error {
  constructor(message: string, details: ErrorDetails = {}, code: ErrorCode = "BAD_CHECKPOINT") {
    super(code, message, details);
    this.name = "IntegrityError";
  }
}

/** Throws naming the file if its bytes are not the size and sha256 the manifest gives (`sha256`: the hex digest of
 *  exactly these bytes, as the platform computes it; null: the size alone is checked). */
export function checkDigest(name: string, bytes: Uint8Array, sha256: string | null, expected: FileDigest): void {
  if (bytes.byteLength !== expected.bytes) throw new IntegrityError(`${name}: ${bytes.byteLength} bytes, the manifest says ${expected.bytes}`, { file: name });
  if (sha256 !== null && sha256 !== expected.sha256) throw new IntegrityError(`${name}: sha256 ${sha256}, the manifest says ${expected.sha256}`, { file: name });
}

/** Throws naming the tensor and element if a weight is NaN or ±Inf; `origin` is the file it came from. Checked on the
 *  values before they become a tensor: the same on every backend, and no read back from a GPU. */
export function checkFiniteWeights(values: Float32Array, origin: string, tensor: string): void {
  const index = values.findIndex((v) => !Number.isFinite(v));
  if (index >= 0) {
    throw new IntegrityError(`${origin}: tensor "${tensor}" holds ${values[index]} at flat index ${index} (weights must be finite: a corrupt or badly converted file)`, {
      file: origin,
      tensor,
    });
  }
}

/** Throws (NOT_FINITE) if an output vector holds NaN or ±Inf; `what` names the input it belongs to,
 *  `details` says the same in fields (e.g. `{ input: row }`). */
export function checkFiniteVector(vector: Float32Array, what: string, details: ErrorDetails = {}): void {
  const index = vector.findIndex((v) => !Number.isFinite(v));
  if (index >= 0) {
    throw new IntegrityError(`the embedding of ${what} holds ${vector[index]} at dimension ${index}: the weights or activations overflow float32`, details, "NOT_FINITE");
  }
}
