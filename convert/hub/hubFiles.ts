// Reading the files of a Hugging Face Hub snapshot directory, with errors that name the file.
import { createHash } from "node:crypto";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { RawTensor } from "../../src/weights/dtypes";
import { readSafetensors } from "../../src/weights/safetensors";
import { SourceFile } from "../../src/weights/modelDir";
import { readTorchCheckpoint } from "../torch/checkpoint";

export type Json = Record<string, unknown>;

export function checkDirectory(dir: string, what: string): void {
  if (!existsSync(dir)) throw new Error(`${what} directory ${dir} does not exist`);
  if (!statSync(dir).isDirectory()) throw new Error(`${what} ${dir} is not a directory`);
}

/** A JSON object file; `required` false returns undefined when the file is absent. */
export function readJsonObject(path: string, required: true): Json;
export function readJsonObject(path: string, required: false): Json | undefined;
export function readJsonObject(path: string, required: boolean): Json | undefined {
  if (!existsSync(path)) {
    if (required) throw new Error(`${path} is missing`);
    return undefined;
  }
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new Error(`${path} is not valid JSON: ${(e as Error).message}`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw new Error(`${path} is not a JSON object`);
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
    if (sharded) throw new Error(`${join(dir, sharded)}: sharded checkpoints are not supported (BERT-base fits in one file)`);
    throw new Error(`${dir} has no weights file (looked for ${candidates.join(", ")})`);
  }
  const path = join(dir, file);
  const tensors = file.endsWith(".safetensors") ? readSafetensors(path).tensors : readTorchCheckpoint(path);
  return { file, tensors };
}

export function describeSourceFile(dir: string, path: string): SourceFile {
  const bytes = readFileSync(join(dir, path));
  return { path, sha256: sha256(bytes), bytes: bytes.byteLength };
}

export function sha256(data: Uint8Array | string): string {
  return createHash("sha256").update(data).digest("hex");
}
