// Our model directory: the layout `specter2 convert` writes and the loader reads (weights/README.md).
// File names, the format version and the manifest's shape live here and nowhere else.
import { Specter2Error } from "../errors";
import type { AdapterSite } from "../model/config";

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

/** How the weights are stored. float16 and bfloat16 halve the size, int8 quarters it (src/weights/float.ts's
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
