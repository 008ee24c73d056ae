// `specter2 convert`: Hugging Face Hub snapshots (a BERT base + AdapterHub adapters) → our model directory
// (weights/README.md). Everything is read and checked first; the directory is written only then, atomically,
// keeping whatever else an existing model directory there holds (convert/modelDirWriter.ts).
import { BASE_NAMES } from "../src/engine/defaults";
import { checkOption, OPTIONS } from "../src/engine/options";
import { existsSync, mkdirSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import type { BertConfig } from "../src/model/config";
import type { RawTensor } from "../src/weights/dtypes";
import type { FileDigest, Manifest, ManifestAdapter, ModelDType, SourceFile, SourceProvenance, TokenizerConfigFile } from "../src/weights/modelDir";
import {
  ADAPTERS_DIR,
  adapterConfigFile,
  adapterWeightsFile,
  BASE_WEIGHTS_FILE,
  checkAdapterName,
  CONFIG_FILE,
  MANIFEST_FILE,
  MODEL_FORMAT,
  MODEL_FORMAT_VERSION,
  SAFETENSORS_DTYPE,
  TOKENIZER_CONFIG_FILE,
  VOCAB_FILE,
} from "../src/weights/modelDir";
import { modelPath } from "../src/node/modelDirectory";
import { INT8_SCALE_SUFFIX, INT8_SCHEME } from "../src/weights/dtypes";
import { serializeSafetensors } from "../src/weights/safetensors";
import { converterName } from "./converterVersion";
import { castFloatTensor, quantizeMatrix } from "./floatCast";
import { parseAdapterConfig } from "./hub/adapterConfig";
import { checkInvertible, mapAdapterWeights } from "./hub/adapterWeights";
import { mapBaseWeights } from "./hub/baseWeights";
import { parseBertConfig } from "./hub/bertConfig";
import { checkDirectory, describeSourceFile, readJsonObject, readWeights, sha256 } from "./hub/hubFiles";
import { writeNewFile } from "../src/io/fileWrites";
import { readRegularFile } from "../src/io/regularFile";
import { normalizeTokenizerConfig, parseVocab } from "./hub/tokenizerConfig";
import { checkReplaceable, replaceDirectory } from "./modelDirWriter";
import { folderProvenance } from "./hub/hfCache";
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

/** Hub file names, in the order Hugging Face / AdapterHub prefer them. */
const BASE_WEIGHTS = ["model.safetensors", "pytorch_model.bin"];
const ADAPTER_WEIGHTS = ["adapter.safetensors", "pytorch_adapter.bin"];
const ADAPTER_CONFIG = "adapter_config.json";
/** Prediction heads saved next to an adapter: not part of the embedding. */
const ADAPTER_HEAD_FILES = ["head_config.json", "pytorch_model_head.bin", "model_head.safetensors"];

export interface ConvertedAdapter {
  name: string;
  json: Uint8Array;
  weights: Map<string, RawTensor>;
  manifest: ManifestAdapter;
}

export async function convertModel(options: ConvertOptions): Promise<Manifest> {
  checkOption("dtype", options.dtype);
  const dtype = options.dtype ?? OPTIONS.dtype.default;
  const out = resolve(options.out);
  const adapterSources = namedAdapters(options.adapters);
  // The files a conversion wrote there before: replaced or dropped; anything else in `out` is kept.
  const previous = checkReplaceable(out);

  const base = convertBase(resolve(options.base), dtype);
  const adapters = adapterSources.map(({ name, dir, provenance }) => convertAdapter(name, dir, base.config, dtype, provenance));
  const defaultAdapter = options.defaultAdapter ?? adapterSources[0]?.name ?? null;
  const describe = options.describeSource ?? ((dir: string) => dir);
  if (defaultAdapter !== null && !adapterSources.some((a) => a.name === defaultAdapter)) {
    throw new Specter2Error("UNKNOWN_ADAPTER", `the default adapter "${defaultAdapter}" is not among those converted (${adapterSources.map((a) => a.name).join(", ") || "none"})`, {
      adapter: defaultAdapter,
    });
  }

  const outputs = new Map<string, Uint8Array>([
    [CONFIG_FILE, json(base.config)],
    [VOCAB_FILE, base.vocab],
    [TOKENIZER_CONFIG_FILE, json(base.tokenizer)],
    [BASE_WEIGHTS_FILE, serializeSafetensors(base.weights)],
  ]);
  for (const a of adapters) {
    outputs.set(a.manifest.config, a.json);
    outputs.set(a.manifest.weights, serializeSafetensors(a.weights));
  }
  const files: Record<string, FileDigest> = {};
  for (const [path, bytes] of outputs) files[path] = { sha256: sha256(bytes), bytes: bytes.byteLength };

  const manifest: Manifest = {
    format: MODEL_FORMAT,
    formatVersion: MODEL_FORMAT_VERSION,
    dtype,
    ...(dtype === "int8" ? { quantization: { scheme: INT8_SCHEME, scaleSuffix: INT8_SCALE_SUFFIX } } : {}),
    files,
    base: { source: describe(base.source), ...(options.baseProvenance ?? folderProvenance(base.source)), files: base.sourceFiles, ignored: base.ignored },
    adapters: Object.fromEntries(adapters.map((a) => [a.name, { ...a.manifest, source: describe(a.manifest.source) }])),
    default_adapter: defaultAdapter,
    converter: converterName(),
    created: new Date().toISOString(),
  };
  replaceDirectory(out, new Set([...previous, ...outputs.keys()]), (dir) => {
    if (adapters.length > 0) mkdirSync(join(dir, ADAPTERS_DIR), { recursive: true });
    for (const [path, bytes] of outputs) writeNewFile(modelPath(dir, path), bytes);
    // Last: a directory without its manifest is never taken for a model.
    writeNewFile(join(dir, MANIFEST_FILE), json(manifest));
  });
  return manifest;
}

/** Names resolved and checked (safe file names, not "base"/"none", none twice), directories made absolute. */
export function namedAdapters(sources: AdapterSource[]): (AdapterSource & { name: string })[] {
  const seen = new Set<string>();
  return sources.map((s) => {
    const dir = resolve(s.dir);
    const name = s.name ?? basename(dir);
    checkAdapterName(name);
    if (BASE_NAMES.includes(name)) throw new Specter2Error("BAD_INPUT", `adapter name "${name}" means the bare base model (no adapter) everywhere; choose another name`, { adapter: name });
    if (seen.has(name)) throw new Specter2Error("BAD_INPUT", `adapter name "${name}" is given twice`, { adapter: name });
    seen.add(name);
    return { ...s, name, dir };
  });
}

function convertBase(dir: string, dtype: ModelDType) {
  checkDirectory(dir, "--base");
  const configPath = join(dir, "config.json");
  const config = parseBertConfig(readJsonObject(configPath, true), configPath);

  const vocabPath = join(dir, "vocab.txt");
  if (!existsSync(vocabPath)) throw new Specter2Error("MODEL_NOT_FOUND", `${vocabPath} is missing`, { file: vocabPath });
  const vocab = readRegularFile(vocabPath, "BAD_CHECKPOINT");
  const tokens = parseVocab(vocab.toString("utf8"), vocabPath);
  if (tokens.length > config.vocab_size) {
    throw new Specter2Error("BAD_CHECKPOINT", `${vocabPath} has ${tokens.length} tokens, more than vocab_size ${config.vocab_size} in ${configPath}`, {
      file: vocabPath,
      field: "vocab_size",
    });
  }
  const tokenizerConfigPath = join(dir, "tokenizer_config.json");
  const specialTokensMapPath = join(dir, "special_tokens_map.json");
  const tokenizer: TokenizerConfigFile = normalizeTokenizerConfig({
    tokenizerConfig: readJsonObject(tokenizerConfigPath, false),
    specialTokensMap: readJsonObject(specialTokensMapPath, false),
    tokenizerConfigFile: tokenizerConfigPath,
    specialTokensMapFile: specialTokensMapPath,
    vocab: new Set(tokens),
    vocabFile: vocabPath,
    maxPositionEmbeddings: config.max_position_embeddings,
  });

  const { file, tensors } = readWeights(dir, BASE_WEIGHTS);
  const weightsPath = join(dir, file);
  const mapped = mapBaseWeights(tensors, config, weightsPath);
  const read = ["config.json", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json", file];
  return {
    config,
    vocab: new Uint8Array(vocab),
    tokenizer,
    weights: castAll(mapped.tensors, dtype, weightsPath),
    ignored: mapped.ignored,
    source: dir,
    sourceFiles: sourceFiles(dir, read),
  };
}

/** One adapter read, checked against the base's config (hidden size, layers) and converted to `dtype`. */
export function convertAdapter(name: string, dir: string, base: BertConfig, dtype: ModelDType, provenance?: SourceProvenance): ConvertedAdapter {
  checkDirectory(dir, `--adapter ${name}`);
  const configPath = join(dir, ADAPTER_CONFIG);
  const parsed = parseAdapterConfig(readJsonObject(configPath, true), configPath);
  if (parsed.spec.hidden_size !== base.hidden_size) {
    throw new Specter2Error("BAD_CHECKPOINT", `${configPath}: adapter "${parsed.spec.name}" is for hidden_size ${parsed.spec.hidden_size}, the base model has ${base.hidden_size}`, {
      file: configPath,
      adapter: parsed.spec.name,
      field: "hidden_size",
    });
  }
  const { file, tensors } = readWeights(dir, ADAPTER_WEIGHTS);
  const weightsPath = join(dir, file);
  checkInvertible(parsed, tensors, configPath, weightsPath);
  const weights = mapAdapterWeights(tensors, parsed, base.num_hidden_layers, weightsPath);
  return {
    name,
    json: json(parsed.spec),
    weights: castAll(weights, dtype, weightsPath),
    manifest: {
      config: adapterConfigFile(name),
      weights: adapterWeightsFile(name),
      source: dir,
      ...(provenance ?? folderProvenance(dir)),
      sourceFiles: sourceFiles(dir, [ADAPTER_CONFIG, file]),
      skipped: ADAPTER_HEAD_FILES.filter((f) => existsSync(join(dir, f))),
    },
  };
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

function sourceFiles(dir: string, names: string[]): SourceFile[] {
  return names.filter((n) => existsSync(join(dir, n))).map((n) => describeSourceFile(dir, n));
}

export function json(value: unknown): Buffer {
  return Buffer.from(`${JSON.stringify(value, null, 2)}\n`, "utf8");
}
