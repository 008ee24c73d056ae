// A converted model directory on this machine (Node): its files' paths; opening it, the one way to, into the
// OpenedModel that src/weights/openModel.ts's loaders read (manifest and config checked at once and synchronously,
// since `info`, `search` and the engine read them before anything loads; no path leading out of it through a
// symlink; with `verify`, every file against the manifest's digests); its tokenizer; and safetensors files on disk.
import { createHash } from "node:crypto";
import { closeSync, existsSync, fstatSync, lstatSync, readFileSync, readSync, realpathSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, join, sep } from "node:path";
import { checkBertConfig } from "../model/config";
import { tokenizerFromFiles, type BertTokenizer } from "../tokenizer/bertTokenizer";
import type { RawTensor } from "../weights/dtypes";
import type { Manifest, ModelSource, OpenedModel } from "../weights/modelDir";
import { checkManifest, CONFIG_FILE, IntegrityError, MANIFEST_FILE, manifestPaths, TOKENIZER_CONFIG_FILE, VOCAB_FILE } from "../weights/modelDir";
import type { RangeReader, SafetensorsFile } from "../weights/safetensors";
import { checkHeaderLength, parseSafetensors, SafetensorsError, serializeSafetensors } from "../weights/safetensors";
import { writeFileAtomic } from "../io/atomicFile";
import { openRegularFile, refuseSpecialFile } from "../io/regularFile";
import { fileDigest } from "../io/fileHash";
import { errnoOrText, Specter2Error } from "../errors";

/** A model directory's file on this machine: the manifest's relative path, forward slashes, under `dir`. */
export function modelPath(dir: string, relative: string): string {
  return join(dir, ...relative.split("/"));
}

export interface OpenOptions {
  /** Check every file's sha256 and size against the manifest before anything is read from it. */
  verify?: boolean;
}

/** The directory's manifest and config, checked; its other files are read by the loaders as they need them. */
export function openModelDirectory(dir: string, options: OpenOptions = {}): OpenedModel {
  if (!existsSync(dir)) throw new Specter2Error("MODEL_NOT_FOUND", `${dir}: no such model directory (make one with \`specter2 convert\`)`, { file: dir });
  const manifestPath = modelPath(dir, MANIFEST_FILE);
  const manifest = checkManifest(readJson(manifestPath), manifestPath);
  checkRealPaths(dir, manifest, manifestPath);
  if (options.verify) verifyManifestFiles(dir, manifest);
  const configPath = modelPath(dir, CONFIG_FILE);
  // Verified whole here where asked, so the loaders do not check each file again as they read it.
  return { source: nodeModelSource(dir), manifest, config: checkBertConfig(readJson(configPath), configPath), verify: false };
}

function readJson(path: string): unknown {
  if (!existsSync(path)) throw new Specter2Error("MODEL_NOT_FOUND", `${path}: missing`, { file: path });
  refuseSpecialFile(path, "BAD_CHECKPOINT");
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new Specter2Error("BAD_CHECKPOINT", `${path}: not valid JSON: ${(e as Error).message}`, { file: path }, { cause: e });
  }
}

/** The files of a model directory on disk, for src/weights/openModel.ts's loaders. */
function nodeModelSource(dir: string): ModelSource {
  return {
    location: dir,
    name: (path) => modelPath(dir, path),
    read: async (path, optional = false) => {
      const file = modelPath(dir, path);
      refuseSpecialFile(file, "BAD_CHECKPOINT");
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
        fd = openRegularFile(file, "BAD_CHECKPOINT").fd;
      } catch (e) {
        throw e instanceof Specter2Error ? e : unreadable(file, e);
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

/** Checks every file the manifest lists against its sha256 and byte count; throws naming each missing or altered one
 *  (`file`: the first of them), so a corrupt download is found at once. */
function verifyManifestFiles(dir: string, manifest: Manifest): void {
  const files = manifest.files;
  if (files === null || typeof files !== "object" || Object.keys(files).length === 0) {
    throw new IntegrityError(`${modelPath(dir, MANIFEST_FILE)}: lists no files to verify`, { file: modelPath(dir, MANIFEST_FILE) });
  }
  const problems: string[] = [];
  let firstBad: string | undefined;
  for (const [relative, expected] of Object.entries(files)) {
    const path = modelPath(dir, relative);
    if (!existsSync(path)) {
      firstBad ??= path;
      problems.push(`${path}: missing`);
      continue;
    }
    const actual = fileDigest(path);
    if (actual.bytes !== expected.bytes || actual.sha256 !== expected.sha256) firstBad ??= path;
    if (actual.bytes !== expected.bytes) {
      problems.push(`${path}: ${actual.bytes} bytes, the manifest says ${expected.bytes}`);
    } else if (actual.sha256 !== expected.sha256) {
      problems.push(`${path}: sha256 ${actual.sha256}, the manifest says ${expected.sha256}`);
    }
  }
  if (problems.length > 0) {
    throw new IntegrityError(`${dir}: model directory failed verification (${problems.length} of ${Object.keys(files).length} files):\n  ${problems.join("\n  ")}`, { file: firstBad });
  }
}

/** The tokenizer of the model directory (or Hub download) `dir`: its vocab.txt, and its tokenizer_config.json where
 *  there is one. */
export function loadTokenizer(dir: string): BertTokenizer {
  const vocabPath = modelPath(dir, VOCAB_FILE);
  let vocabText: string;
  refuseSpecialFile(vocabPath, "BAD_CHECKPOINT");
  try {
    vocabText = readFileSync(vocabPath, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code === "ENOENT" ? "MODEL_NOT_FOUND" : "BAD_CHECKPOINT";
    throw new Specter2Error(code, `${vocabPath}: cannot read the tokenizer vocabulary (${errnoOrText(e)})`, { file: vocabPath }, { cause: e });
  }
  const configPath = modelPath(dir, TOKENIZER_CONFIG_FILE);
  return tokenizerFromFiles(vocabText, vocabPath, readTokenizerConfig(configPath), configPath);
}

/** The parsed tokenizer_config.json, or null where there is none. */
function readTokenizerConfig(configPath: string): unknown {
  let text: string;
  refuseSpecialFile(configPath, "BAD_CHECKPOINT");
  try {
    text = readFileSync(configPath, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw new Specter2Error("BAD_CHECKPOINT", (e as Error).message, { file: configPath }, { cause: e });
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Specter2Error("BAD_CHECKPOINT", `${configPath}: malformed JSON: ${(e as Error).message}`, { file: configPath }, { cause: e });
  }
}

/** Reads and validates a safetensors file, read whole into one buffer once the header length is checked against the
 *  file's size; tensor data are views into that buffer. */
export function readSafetensors(path: string): SafetensorsFile {
  let fd: number;
  try {
    fd = openRegularFile(path, "BAD_CHECKPOINT").fd;
  } catch (e) {
    if (e instanceof Specter2Error) throw e;
    const code = (e as NodeJS.ErrnoException).code === "ENOENT" ? "MODEL_NOT_FOUND" : "BAD_CHECKPOINT";
    throw new Specter2Error(code, (e as Error).message, { file: path }, { cause: e });
  }
  try {
    const size = fstatSync(fd).size;
    if (size < 8) throw new SafetensorsError(path, `file is ${size} bytes, shorter than the 8-byte header length`);
    const lengthBytes = Buffer.alloc(8);
    readSync(fd, lengthBytes, 0, 8, 0);
    const headerLength = checkHeaderLength(path, lengthBytes.readBigUInt64LE(0), size);
    // The length is checked against the file size before the rest is read: a hostile length allocates nothing.
    const bytes = Buffer.allocUnsafe(size);
    let done = 0;
    while (done < size) {
      const n = readSync(fd, bytes, done, size - done, done);
      if (n === 0) throw new SafetensorsError(path, `file shrank while reading (${done} of ${size} bytes)`);
      done += n;
    }
    return parseSafetensors(new Uint8Array(bytes.buffer, bytes.byteOffset, size), path, headerLength);
  } finally {
    closeSync(fd);
  }
}

/** Writes a safetensors file atomically. */
export function writeSafetensors(path: string, tensors: Map<string, RawTensor>, metadata?: Record<string, string>): void {
  writeFileAtomic(path, serializeSafetensors(tensors, metadata));
}
