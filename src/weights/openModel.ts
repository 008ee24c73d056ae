// A converted model directory (src/weights/modelDir.ts), wherever its files are: a folder (Node) or a URL (the
// browser). The entry gives a ModelSource that reads a file's bytes; everything checked about the files, and the
// tensors, the tokenizer and the adapters they make, is here once.
import * as tf from "@tensorflow/tfjs-core";
import type { AdapterSpec } from "../model/config";
import { checkBertConfig } from "../model/config";
import { tokenizerFromFiles, type BertTokenizer } from "../tokenizer/bertTokenizer";
import { Specter2Error } from "../errors";
import type { RawTensor } from "./dtypes";
import { dequantizeInt8, toFloat32 } from "./dtypes";
import type { Manifest, ModelSource, OpenedModel } from "./modelDir";
import {
  adapterConfigFile,
  adapterWeightsFile,
  BASE_WEIGHTS_FILE,
  checkDigest,
  checkFiniteWeights,
  checkManifest,
  CONFIG_FILE,
  MANIFEST_FILE,
  parseJson,
  TOKENIZER_CONFIG_FILE,
  VOCAB_FILE,
} from "./modelDir";
import { parseSafetensors, readSafetensorsRanges } from "./safetensors";

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

/** Every tensor as float32 (F16/BF16 widen exactly, stored int8 is dequantized), refused if a value is NaN or ±Inf; `file`
 *  names them in errors. The only place raw bytes become tensors; the caller owns them. */
function floatTensors(raw: ReadonlyMap<string, RawTensor>, file: string): Map<string, tf.Tensor> {
  const out = new Map<string, tf.Tensor>();
  try {
    for (const [name, t] of dequantizeInt8(raw, file)) {
      const values = toFloat32(t, `${file}: ${name}`, { file, tensor: name });
      checkFiniteWeights(values, file, name);
      out.set(name, tf.tensor(values, t.shape, "float32"));
    }
  } catch (e) {
    for (const t of out.values()) t.dispose();
    throw e;
  }
  return out;
}
