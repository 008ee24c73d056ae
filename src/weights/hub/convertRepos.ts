// Hugging Face Hub repos (a BERT base + AdapterHub adapters) → the files of our model directory (weights/README.md),
// wherever the repos' files are: a folder in Node (convert/, src/hub), bytes fetched into a page (src/web). Everything
// is read and checked here, in memory; writing the directory is the caller's.
import { BASE_NAMES } from "../../engine/defaults";
import { checkOption, OPTIONS } from "../../engine/options";
import { Specter2Error } from "../../errors";
import type { BertConfig } from "../../model/config";
import type { RawTensor } from "../dtypes";
import { INT8_SCALE_SUFFIX, INT8_SCHEME } from "../dtypes";
import { castFloatTensor, quantizeMatrix } from "../floatCast";
import type { FileDigest, Manifest, ManifestAdapter, ModelDType, SourceFile, SourceProvenance, TokenizerConfigFile } from "../modelDir";
import {
  adapterConfigFile,
  adapterWeightsFile,
  BASE_WEIGHTS_FILE,
  checkAdapterName,
  CONFIG_FILE,
  MODEL_FORMAT,
  MODEL_FORMAT_VERSION,
  SAFETENSORS_DTYPE,
  TOKENIZER_CONFIG_FILE,
  VOCAB_FILE,
} from "../modelDir";
import { parseSafetensors, serializeSafetensors } from "../safetensors";
import { parseTorchCheckpoint } from "../torch/checkpoint";
import { parseAdapterConfig } from "./adapterConfig";
import { checkInvertible, mapAdapterWeights } from "./adapterWeights";
import { mapBaseWeights } from "./baseWeights";
import { parseBertConfig } from "./bertConfig";
import type { Json } from "./jsonFields";
import { normalizeTokenizerConfig, parseVocab } from "./tokenizerConfig";

/** One Hub repo's files (or a folder of them), as the converter reads them. */
export interface RepoFiles {
  /** The folder or the repo, as the manifest's `source` and messages name it. */
  readonly location: string;
  /** How messages name one of its files (a path, a URL). */
  name(file: string): string;
  has(file: string): boolean;
  /** A file's bytes (it exists: `has`); a file that cannot be read is an error naming it. */
  read(file: string): Uint8Array;
  /** A file's sha256 and size, for the manifest's record of what was converted. */
  digest(file: string): FileDigest;
}

/** Hub file names, in the order Hugging Face / AdapterHub prefer them. */
export const BASE_WEIGHTS = ["model.safetensors", "pytorch_model.bin"];
export const ADAPTER_WEIGHTS = ["adapter.safetensors", "pytorch_adapter.bin"];
export const ADAPTER_CONFIG = "adapter_config.json";
export const BASE_CONFIG = "config.json";
/** Prediction heads saved next to an adapter: not part of the embedding. */
const ADAPTER_HEAD_FILES = ["head_config.json", "pytorch_model_head.bin", "model_head.safetensors"];

export interface ConvertedBase {
  config: BertConfig;
  vocab: Uint8Array;
  tokenizer: TokenizerConfigFile;
  weights: Map<string, RawTensor>;
  ignored: string[];
  source: string;
  sourceFiles: SourceFile[];
}

export interface ConvertedAdapter {
  name: string;
  json: Uint8Array;
  weights: Map<string, RawTensor>;
  manifest: ManifestAdapter;
}

/** A JSON object file; `required` false returns undefined when the file is absent. */
export function readJsonObject(files: RepoFiles, file: string, required: true): Json;
export function readJsonObject(files: RepoFiles, file: string, required: false): Json | undefined;
export function readJsonObject(files: RepoFiles, file: string, required: boolean): Json | undefined {
  const path = files.name(file);
  if (!files.has(file)) {
    if (required) throw new Specter2Error("MODEL_NOT_FOUND", `${path} is missing`, { file: path });
    return undefined;
  }
  const text = new TextDecoder().decode(files.read(file));
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new Specter2Error("BAD_CHECKPOINT", `${path} is not valid JSON: ${(e as Error).message}`, { file: path }, { cause: e });
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw new Specter2Error("BAD_CHECKPOINT", `${path} is not a JSON object`, { file: path });
  return value as Json;
}

/** The weights file of a repo: the first of `candidates` (safetensors preferred, like Hugging Face) that it has, read
 *  into raw tensors. */
export function readWeights(files: RepoFiles, candidates: readonly string[]): { file: string; tensors: Map<string, RawTensor> } {
  const file = candidates.find((name) => files.has(name));
  if (file === undefined) {
    const sharded = candidates.map((c) => `${c}.index.json`).find((name) => files.has(name));
    if (sharded) throw new Specter2Error("BAD_CHECKPOINT", `${files.name(sharded)}: sharded checkpoints are not supported (BERT-base fits in one file)`, { file: files.name(sharded) });
    throw new Specter2Error("MODEL_NOT_FOUND", `${files.location} has no weights file (looked for ${candidates.join(", ")})`, { file: files.location });
  }
  const bytes = files.read(file);
  const tensors = file.endsWith(".safetensors") ? parseSafetensors(bytes, files.name(file)).tensors : parseTorchCheckpoint(bytes, files.name(file));
  return { file, tensors };
}

/** The base: config, vocabulary, tokenizer settings and encoder weights, checked against each other and stored in `dtype`. */
export function convertBase(files: RepoFiles, dtype: ModelDType): ConvertedBase {
  const configPath = files.name(BASE_CONFIG);
  const config = parseBertConfig(readJsonObject(files, BASE_CONFIG, true), configPath);

  const vocabPath = files.name(VOCAB_FILE);
  if (!files.has(VOCAB_FILE)) throw new Specter2Error("MODEL_NOT_FOUND", `${vocabPath} is missing`, { file: vocabPath });
  const vocab = files.read(VOCAB_FILE);
  const tokens = parseVocab(new TextDecoder().decode(vocab), vocabPath);
  if (tokens.length > config.vocab_size) {
    throw new Specter2Error("BAD_CHECKPOINT", `${vocabPath} has ${tokens.length} tokens, more than vocab_size ${config.vocab_size} in ${configPath}`, {
      file: vocabPath,
      field: "vocab_size",
    });
  }
  const tokenizer = normalizeTokenizerConfig({
    tokenizerConfig: readJsonObject(files, "tokenizer_config.json", false),
    specialTokensMap: readJsonObject(files, "special_tokens_map.json", false),
    tokenizerConfigFile: files.name("tokenizer_config.json"),
    specialTokensMapFile: files.name("special_tokens_map.json"),
    vocab: new Set(tokens),
    vocabFile: vocabPath,
    maxPositionEmbeddings: config.max_position_embeddings,
  });

  const { file, tensors } = readWeights(files, BASE_WEIGHTS);
  const weightsPath = files.name(file);
  const mapped = mapBaseWeights(tensors, config, weightsPath);
  const read = [BASE_CONFIG, VOCAB_FILE, "tokenizer_config.json", "special_tokens_map.json", file];
  return {
    config,
    vocab,
    tokenizer,
    weights: castAll(mapped.tensors, dtype, weightsPath),
    ignored: mapped.ignored,
    source: files.location,
    sourceFiles: sourceFiles(files, read),
  };
}

/** One adapter read, checked against the base's config (hidden size, layers) and converted to `dtype`;
 *  `provenance` is where its files came from, for the manifest. */
export function convertAdapter(name: string, files: RepoFiles, base: BertConfig, dtype: ModelDType, provenance: SourceProvenance): ConvertedAdapter {
  const configPath = files.name(ADAPTER_CONFIG);
  const parsed = parseAdapterConfig(readJsonObject(files, ADAPTER_CONFIG, true), configPath);
  if (parsed.spec.hidden_size !== base.hidden_size) {
    throw new Specter2Error("BAD_CHECKPOINT", `${configPath}: adapter "${parsed.spec.name}" is for hidden_size ${parsed.spec.hidden_size}, the base model has ${base.hidden_size}`, {
      file: configPath,
      adapter: parsed.spec.name,
      field: "hidden_size",
    });
  }
  const { file, tensors } = readWeights(files, ADAPTER_WEIGHTS);
  const weightsPath = files.name(file);
  checkInvertible(parsed, tensors, configPath, weightsPath);
  const weights = mapAdapterWeights(tensors, parsed, base.num_hidden_layers, weightsPath);
  return {
    name,
    json: json(parsed.spec),
    weights: castAll(weights, dtype, weightsPath),
    manifest: {
      config: adapterConfigFile(name),
      weights: adapterWeightsFile(name),
      source: files.location,
      ...provenance,
      sourceFiles: sourceFiles(files, [ADAPTER_CONFIG, file]),
      skipped: ADAPTER_HEAD_FILES.filter((f) => files.has(f)),
    },
  };
}

/** An adapter name that may be given: a safe file name, not one that means the bare base. */
export function checkNewAdapterName(name: string): void {
  checkAdapterName(name);
  if (BASE_NAMES.includes(name)) throw new Specter2Error("BAD_INPUT", `adapter name "${name}" means the bare base model (no adapter) everywhere; choose another name`, { adapter: name });
}

export interface ConvertedModel {
  manifest: Manifest;
  /** Every file of the model directory but manifest.json, by its relative path. */
  files: Map<string, Uint8Array>;
}

export interface AssembleOptions {
  dtype: ModelDType;
  /** Where the base's files came from. */
  baseProvenance: SourceProvenance;
  /** The adapter a call that names none uses; default: the first adapter. */
  defaultAdapter?: string;
  /** How the manifest names a source (default: its location). */
  describeSource?: (location: string) => string;
  /** "specter2-tfjs <version>" (converterName). */
  converter: string;
  /** Hex sha256 of bytes, as the platform computes it. */
  sha256: (bytes: Uint8Array) => Promise<string>;
}

/** The model directory's files and manifest, from a converted base and adapters (their names checked, none twice). */
export async function assembleModel(base: ConvertedBase, adapters: ConvertedAdapter[], options: AssembleOptions): Promise<ConvertedModel> {
  const dtype = options.dtype;
  const defaultAdapter = options.defaultAdapter ?? adapters[0]?.name ?? null;
  const describe = options.describeSource ?? ((location: string) => location);
  if (defaultAdapter !== null && !adapters.some((a) => a.name === defaultAdapter)) {
    throw new Specter2Error("UNKNOWN_ADAPTER", `the default adapter "${defaultAdapter}" is not among those converted (${adapters.map((a) => a.name).join(", ") || "none"})`, {
      adapter: defaultAdapter,
    });
  }
  const files = new Map<string, Uint8Array>([
    [CONFIG_FILE, json(base.config)],
    [VOCAB_FILE, base.vocab],
    [TOKENIZER_CONFIG_FILE, json(base.tokenizer)],
    [BASE_WEIGHTS_FILE, serializeSafetensors(base.weights)],
  ]);
  for (const a of adapters) {
    files.set(a.manifest.config, a.json);
    files.set(a.manifest.weights, serializeSafetensors(a.weights));
  }
  const digests: Record<string, FileDigest> = {};
  for (const [path, bytes] of files) digests[path] = { sha256: await options.sha256(bytes), bytes: bytes.byteLength };
  const manifest: Manifest = {
    format: MODEL_FORMAT,
    formatVersion: MODEL_FORMAT_VERSION,
    dtype,
    ...(dtype === "int8" ? { quantization: { scheme: INT8_SCHEME, scaleSuffix: INT8_SCALE_SUFFIX } } : {}),
    files: digests,
    base: { source: describe(base.source), ...options.baseProvenance, files: base.sourceFiles, ignored: base.ignored },
    adapters: Object.fromEntries(adapters.map((a) => [a.name, { ...a.manifest, source: describe(a.manifest.source) }])),
    default_adapter: defaultAdapter,
    converter: options.converter,
    created: new Date().toISOString(),
  };
  return { manifest, files };
}

/** "specter2-tfjs <version>", as manifests record their converter. */
export function converterName(version: string): string {
  return `specter2-tfjs ${version}`;
}

/** The dtype a conversion stores, checked (default float32). */
export function conversionDtype(dtype: ModelDType | undefined): ModelDType {
  checkOption("dtype", dtype);
  return dtype ?? OPTIONS.dtype.default;
}

/** The tensors stored in `dtype`: every one in float32 and float16; in bfloat16 the matrices (weights and embedding
 *  tables), vectors (biases, LayerNorm) kept in float32; in int8 the matrices as row-wise symmetric int8 with their scales
 *  (src/weights/dtypes.ts), vectors in float32. */
function castAll(tensors: Map<string, RawTensor>, dtype: ModelDType, file: string): Map<string, RawTensor> {
  const out = new Map<string, RawTensor>();
  for (const [name, t] of tensors) {
    const what = `${file}: tensor "${name}"`;
    const details = { file, tensor: name };
    const matrix = t.shape.length === 2;
    if (dtype === "int8" && matrix) {
      for (const [stored, q] of quantizeMatrix(name, t, what, details)) {
        if (stored !== name && (tensors.has(stored) || out.has(stored)))
          throw new Specter2Error("BAD_CHECKPOINT", `${what}: its int8 scales would be stored as "${stored}", a name the checkpoint has`, details);
        out.set(stored, q);
      }
      continue;
    }
    const to = dtype === "bfloat16" ? (matrix ? "BF16" : "F32") : dtype === "int8" ? "F32" : SAFETENSORS_DTYPE[dtype];
    out.set(name, castFloatTensor(t, to, what, details));
  }
  return out;
}

function sourceFiles(files: RepoFiles, names: string[]): SourceFile[] {
  return names.filter((n) => files.has(n)).map((n) => ({ path: n, ...files.digest(n) }));
}

/** A JSON file as the model directory stores it: two-space indented, with a final newline. */
export function json(value: unknown): Uint8Array {
  return new TextEncoder().encode(`${JSON.stringify(value, null, 2)}\n`);
}
