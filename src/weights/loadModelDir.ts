// Reads a converted model directory (src/weights/modelDir.ts) into configs and float32 tensors.
import { existsSync, lstatSync, readFileSync, realpathSync } from "node:fs";
import { dirname, isAbsolute, sep } from "node:path";
import type * as tf from "@tensorflow/tfjs-core";
import type { AdapterSpec, BertConfig } from "../model/config";
import { checkBertConfig } from "../model/config";
import type { Manifest } from "./modelDir";
import { adapterConfigFile, adapterWeightsFile, BASE_WEIGHTS_FILE, checkAdapterName, CONFIG_FILE, MANIFEST_FILE, MODEL_FORMAT, MODEL_FORMAT_VERSION, modelPath } from "./modelDir";
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
  const base = manifest.base as Partial<Manifest["base"]> | undefined; // untrusted JSON until checked
  if (typeof base !== "object" || base === null || typeof base.source !== "string") {
    throw new Specter2Error("BAD_CHECKPOINT", `${manifestPath}: "base" is missing or not an object with a "source"; re-run \`specter2 convert\``, { file: manifestPath, field: "base" });
  }
  checkManifestPaths(dir, manifest, manifestPath);
  if (options.verify) verifyManifestFiles(dir, manifest);
  const configPath = modelPath(dir, CONFIG_FILE);
  return { dir, manifest, config: checkBertConfig(readJson(configPath), configPath) };
}

/**
 * Every path the manifest names (its `files`, each adapter's `config` and `weights`) must stay inside the model
 * directory, or verify and the loaders would read (and print the hash of) files elsewhere: a relative path of
 * plain names joined by "/" (no "..", ".", empty names, backslashes, drive letters or absolute paths), and, where
 * it exists, no symlink on the way that leads out of the directory (compared by realpath). Missing files are
 * left to the reader that needs them. A violation is BAD_CHECKPOINT naming the manifest and the entry.
 */
function checkManifestPaths(dir: string, manifest: Manifest, manifestPath: string): void {
  const refuse = (field: string, path: unknown, why: string): never => {
    throw new Specter2Error("BAD_CHECKPOINT", `${manifestPath}: ${field} ${JSON.stringify(path)} ${why}; a model directory's files must stay inside it (${dir})`, {
      file: manifestPath,
      field,
    });
  };
  const files = manifest.files;
  if (typeof files !== "object" || files === null || Array.isArray(files)) refuse("files", files, "is not an object of files");
  const adapters = manifest.adapters;
  if (typeof adapters !== "object" || adapters === null || Array.isArray(adapters)) refuse("adapters", adapters, "is not an object of adapters");
  const entries: [string, unknown][] = Object.keys(files).map((path) => ["files", path]);
  for (const [name, entry] of Object.entries(adapters)) {
    try {
      checkAdapterName(name);
    } catch {
      refuse("adapters", name, "is not an adapter name (1-100 of A-Z a-z 0-9 _ . -, not starting with . or -)");
    }
    const paths = entry as { config?: unknown; weights?: unknown } | null; // untrusted JSON until checked
    entries.push([`adapters.${name}.config`, paths?.config], [`adapters.${name}.weights`, paths?.weights]);
  }
  let root: string | undefined;
  for (const [field, path] of entries) {
    if (typeof path !== "string" || path === "") refuse(field, path, "is not a relative path");
    const p = path as string;
    if (p.includes("\\") || p.includes("\0") || /^[A-Za-z]:/.test(p) || isAbsolute(p)) refuse(field, p, "is not a relative path with forward slashes");
    if (p.split("/").some((name) => name === "" || name === "." || name === "..")) refuse(field, p, 'has an empty, "." or ".." component');
    root ??= realpathSync(dir);
    const inside = realInside(modelPath(dir, p), root);
    if (inside !== true) refuse(field, p, inside);
  }
}

/** true if `path` (or, where it does not exist, its nearest existing parent) resolves inside `root` (a realpath); else why not. */
function realInside(path: string, root: string): true | string {
  let at = path;
  for (;;) {
    let exists = true;
    try {
      lstatSync(at);
    } catch {
      exists = false;
    }
    if (exists) {
      let real: string;
      try {
        real = realpathSync(at);
      } catch {
        return "is (or passes through) a symlink that leads nowhere";
      }
      return real === root || real.startsWith(root.endsWith(sep) ? root : root + sep) ? true : `resolves (through a symlink) to ${real}, outside the model directory`;
    }
    const parent = dirname(at);
    if (parent === at) return true;
    at = parent;
  }
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
