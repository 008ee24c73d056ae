// A converted model directory on this machine (Node): its manifest and config, checked at once and synchronously
// (`info`, `search` and the engine read them before anything loads), and a ModelSource over its files for the
// loaders in src/weights/openModel.ts.
import { createHash } from "node:crypto";
import { closeSync, existsSync, fstatSync, lstatSync, openSync, readFileSync, readSync, realpathSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, sep } from "node:path";
import type { BertConfig } from "../model/config";
import { checkBertConfig } from "../model/config";
import { Specter2Error } from "../errors";
import type { Manifest } from "../weights/modelDir";
import { CONFIG_FILE, MANIFEST_FILE } from "../weights/modelDir";
import { modelPath } from "./modelPath";
import type { ModelSource } from "../weights/openModel";
import type { RangeReader } from "../weights/safetensors";
import { checkManifest, manifestPaths } from "../weights/openModel";
import { verifyManifestFiles } from "./verify";

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
  const manifest = checkManifest(readJson(manifestPath), manifestPath);
  checkRealPaths(dir, manifest, manifestPath);
  if (options.verify) verifyManifestFiles(dir, manifest);
  const configPath = modelPath(dir, CONFIG_FILE);
  return { dir, manifest, config: checkBertConfig(readJson(configPath), configPath) };
}

/** The files of a model directory on disk, for src/weights/openModel.ts's loaders. */
export function nodeModelSource(dir: string): ModelSource {
  return {
    location: dir,
    name: (path) => modelPath(dir, path),
    read: async (path, optional = false) => {
      const file = modelPath(dir, path);
      try {
        return new Uint8Array(await readFile(file));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT" && optional) return null;
        throw unreadable(file, e);
      }
    },
    sha256: async (bytes) => createHash("sha256").update(bytes).digest("hex"),
    withRanges: async (path, use) => {
      const file = modelPath(dir, path);
      let fd: number;
      try {
        fd = openSync(file, "r");
      } catch (e) {
        throw unreadable(file, e);
      }
      try {
        return use(fileRanges(fd, file));
      } finally {
        closeSync(fd);
      }
    },
  };
}

/** MODEL_NOT_FOUND for a file that is not there, BAD_CHECKPOINT for one that cannot be read; naming it. */
function unreadable(file: string, e: unknown): Specter2Error {
  const missing = (e as NodeJS.ErrnoException).code === "ENOENT";
  return new Specter2Error(missing ? "MODEL_NOT_FOUND" : "BAD_CHECKPOINT", missing ? `${file}: missing` : `${file}: ${(e as Error).message}`, { file }, { cause: e });
}

/** An open file read at offsets, each read into a buffer of its own. */
function fileRanges(fd: number, file: string): RangeReader {
  const size = fstatSync(fd).size;
  return {
    size,
    read(offset, length) {
      const bytes = new Uint8Array(length);
      for (let done = 0; done < length;) {
        const n = readSync(fd, bytes, done, length - done, offset + done);
        if (n === 0) throw new Specter2Error("BAD_CHECKPOINT", `${file}: file shrank while reading (${offset + done} of ${size} bytes)`, { file });
        done += n;
      }
      return bytes;
    },
  };
}

/**
 * No path the manifest names may lead out of the model directory through a symlink (compared by realpath; the
 * directory itself may be a link): checkManifest has already refused "..", absolute paths and the like. Missing
 * files are left to the reader that needs them. A violation is BAD_CHECKPOINT naming the manifest and the entry.
 */
function checkRealPaths(dir: string, manifest: Manifest, manifestPath: string): void {
  const root = realpathSync(dir);
  for (const [field, path] of manifestPaths(manifest, manifestPath)) {
    const inside = realInside(modelPath(dir, path as string), root);
    if (inside !== true) {
      throw new Specter2Error("BAD_CHECKPOINT", `${manifestPath}: ${field} ${JSON.stringify(path)} ${inside}; a model directory's files must stay inside it (${dir})`, {
        file: manifestPath,
        field,
      });
    }
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
