// Reads a converted model directory (src/weights/modelDir.ts) into configs and float32 tensors.
import { existsSync, readFileSync } from "node:fs";
import type * as tf from "@tensorflow/tfjs-core";
import type { AdapterSpec, BertConfig } from "../model/config";
import type { Manifest } from "./modelDir";
import { adapterConfigFile, adapterWeightsFile, BASE_WEIGHTS_FILE, CONFIG_FILE, MANIFEST_FILE, MODEL_FORMAT, MODEL_FORMAT_VERSION, modelPath } from "./modelDir";
import { loadFloatTensors } from "./tensors";
import { checkFiniteTensors, verifyManifestFiles } from "./verify";
import { Specter2Error } from "../errors";

export interface ModelDirectory {
  dir: string;
  manifest: Manifest;
  config: BertConfig;
}

function readJson(path: string): unknown {
  if (!existsSync(path)) throw new Specter2Error("MODEL_NOT_FOUND", `${path}: missing`, { file: path });
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new Specter2Error("BAD_CHECKPOINT", `${path}: not valid JSON: ${(e as Error).message}`, { file: path }, { cause: e });
  }
}

export interface OpenOptions {
  /** Check every file's sha256 and size against the manifest before anything is read from it. */
  verify?: boolean;
}

export function openModelDirectory(dir: string, options: OpenOptions = {}): ModelDirectory {
  if (!existsSync(dir)) throw new Specter2Error("MODEL_NOT_FOUND", `${dir}: no such model directory (make one with \`specter2 convert\`)`, { file: dir });
  const manifestPath = modelPath(dir, MANIFEST_FILE);
  const manifest = readJson(manifestPath) as Manifest;
  if (manifest?.format !== MODEL_FORMAT) {
    throw new Specter2Error(
      "BAD_CHECKPOINT",
      `${manifestPath}: not a specter2-tfjs model manifest (format ${JSON.stringify(manifest?.format)}); convert Hub files with \`specter2 convert\``,
      { file: manifestPath, field: "format" },
    );
  }
  if (manifest.formatVersion !== MODEL_FORMAT_VERSION) {
    throw new Specter2Error(
      "BAD_CHECKPOINT",
      `${manifestPath}: model format version ${manifest.formatVersion}, this version of specter2-tfjs reads ${MODEL_FORMAT_VERSION}; re-run \`specter2 convert\``,
      { file: manifestPath, field: "formatVersion" },
    );
  }
  if (options.verify) verifyManifestFiles(dir, manifest);
  return { dir, manifest, config: readJson(modelPath(dir, CONFIG_FILE)) as BertConfig };
}

/** The file's tensors as float32, refused (and disposed) if any value is NaN or ±Inf. */
function loadFiniteTensors(path: string): Map<string, tf.Tensor> {
  const tensors = loadFloatTensors(path);
  try {
    checkFiniteTensors(tensors, path);
  } catch (e) {
    for (const t of tensors.values()) t.dispose();
    throw e;
  }
  return tensors;
}

export function loadBaseTensors(m: ModelDirectory): { tensors: Map<string, tf.Tensor>; origin: string } {
  const origin = modelPath(m.dir, BASE_WEIGHTS_FILE);
  return { tensors: loadFiniteTensors(origin), origin };
}

export function loadAdapterFiles(m: ModelDirectory, name: string): { spec: AdapterSpec; tensors: Map<string, tf.Tensor>; origin: string } {
  if (!m.manifest.adapters[name]) {
    throw new Specter2Error("UNKNOWN_ADAPTER", `${m.dir}: no adapter "${name}" (it has: ${Object.keys(m.manifest.adapters).join(", ") || "none"})`, {
      file: m.dir,
      adapter: name,
    });
  }
  const spec = readJson(modelPath(m.dir, adapterConfigFile(name))) as AdapterSpec;
  const origin = modelPath(m.dir, adapterWeightsFile(name));
  return { spec, tensors: loadFiniteTensors(origin), origin };
}
