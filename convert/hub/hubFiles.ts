// Reading the files of a Hugging Face Hub snapshot directory, with errors that name the file. Only regular files are
// read (a link to /dev/zero or a FIFO is refused: src/io/regularFile.ts), each no further than its size.
import { createHash } from "node:crypto";
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import type { RawTensor } from "../../src/weights/dtypes";
import { fileDigest } from "../../src/io/fileHash";
import { notRegularFileError, readRegularFile, specialFileKind } from "../../src/io/regularFile";
import { readSafetensors } from "../../src/node/modelDirectory";
import type { SourceFile } from "../../src/weights/modelDir";
import { readTorchCheckpoint } from "../torch/checkpoint";
import { Specter2Error } from "../../src/errors";

export type Json = Record<string, unknown>;

export function checkDirectory(dir: string, what: string): void {
  if (!existsSync(dir)) throw new Specter2Error("MODEL_NOT_FOUND", `${what} directory ${dir} does not exist`, { file: dir });
  if (!statSync(dir).isDirectory()) throw new Specter2Error("MODEL_NOT_FOUND", `${what} ${dir} is not a directory`, { file: dir });
}

/** A JSON object file; `required` false returns undefined when the file is absent. */
export function readJsonObject(path: string, required: true): Json;
export function readJsonObject(path: string, required: false): Json | undefined;
export function readJsonObject(path: string, required: boolean): Json | undefined {
  if (!existsSync(path)) {
    if (required) throw new Specter2Error("MODEL_NOT_FOUND", `${path} is missing`, { file: path });
    return undefined;
  }
  const text = readRegularFile(path, "BAD_CHECKPOINT").toString("utf8");
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new Specter2Error("BAD_CHECKPOINT", `${path} is not valid JSON: ${(e as Error).message}`, { file: path }, { cause: e });
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw new Specter2Error("BAD_CHECKPOINT", `${path} is not a JSON object`, { file: path });
  return value as Json;
}

/**
 * The weights file of a snapshot: the first of `candidates` (safetensors preferred, like Hugging Face)
 * that exists, read into raw tensors.
 */
export function readWeights(dir: string, candidates: readonly string[]): { file: string; tensors: Map<string, RawTensor> } {
  const file = candidates.find((name) => existsSync(join(dir, name)));
  if (file === undefined) {
    const sharded = candidates.map((c) => `${c}.index.json`).find((name) => existsSync(join(dir, name)));
    if (sharded) throw new Specter2Error("BAD_CHECKPOINT", `${join(dir, sharded)}: sharded checkpoints are not supported (BERT-base fits in one file)`, { file: join(dir, sharded) });
    throw new Specter2Error("MODEL_NOT_FOUND", `${dir} has no weights file (looked for ${candidates.join(", ")})`, { file: dir });
  }
  const path = join(dir, file);
  let tensors: Map<string, RawTensor>;
  if (file.endsWith(".safetensors")) {
    // readSafetensors reads by the file's size, but opening a FIFO would wait for a writer: refused first.
    const kind = specialFileKind(statSync(path));
    if (kind !== undefined) throw notRegularFileError(path, kind, "BAD_CHECKPOINT");
    tensors = readSafetensors(path).tensors;
  } else {
    tensors = readTorchCheckpoint(path);
  }
  return { file, tensors };
}

export function describeSourceFile(dir: string, path: string): SourceFile {
  return { path, ...fileDigest(join(dir, path)) };
}

export function sha256(data: Uint8Array | string): string {
  return createHash("sha256").update(data).digest("hex");
}
