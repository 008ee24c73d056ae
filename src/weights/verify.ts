// Integrity checks of a model directory: the manifest's sha256 and byte counts against the files on disk,
// and weights that must be finite. Errors name the file (and the tensor) so a corrupt download is found at once.
import { createHash } from "node:crypto";
import { closeSync, existsSync, fstatSync, openSync, readSync } from "node:fs";
import * as tf from "@tensorflow/tfjs-core";
import type { Manifest } from "./modelDir";
import { modelPath } from "./modelDir";
import type { ErrorCode, ErrorDetails } from "../errors";
import { Specter2Error } from "../errors";

/** Files are hashed in chunks, so verifying a 440 MB checkpoint holds 1 MB of it at a time. */
const CHUNK_BYTES = 1 << 20;

/** A model file that fails its checks (BAD_CHECKPOINT), or an output that is not finite (NOT_FINITE). */
export class IntegrityError extends Specter2Error {
  constructor(message: string, details: ErrorDetails = {}, code: ErrorCode = "BAD_CHECKPOINT") {
    super(code, message, details);
    this.name = "IntegrityError";
  }
}

/** Hex sha256 of a file and its size, read in chunks. */
export function fileDigest(path: string): { sha256: string; bytes: number } {
  const fd = openSync(path, "r");
  try {
    const hash = createHash("sha256");
    const chunk = Buffer.allocUnsafe(CHUNK_BYTES);
    let bytes = 0;
    for (let n; (n = readSync(fd, chunk, 0, CHUNK_BYTES, bytes)) > 0; bytes += n) hash.update(chunk.subarray(0, n));
    if (bytes !== fstatSync(fd).size) throw new IntegrityError(`${path}: changed size while being hashed`, { file: path });
    return { sha256: hash.digest("hex"), bytes };
  } finally {
    closeSync(fd);
  }
}

/** Checks every file the manifest lists; throws naming each missing or altered one. */
export function verifyManifestFiles(dir: string, manifest: Manifest): void {
  const files = manifest.files;
  if (files === null || typeof files !== "object" || Object.keys(files).length === 0) {
    throw new IntegrityError(`${modelPath(dir, "manifest.json")}: lists no files to verify`, { file: modelPath(dir, "manifest.json") });
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
    // `file` is the first file at fault (the message lists them all).
    throw new IntegrityError(`${dir}: model directory failed verification (${problems.length} of ${Object.keys(files).length} files):\n  ${problems.join("\n  ")}`, { file: firstBad });
  }
}

/** Throws naming the first tensor (and element) that holds NaN or ±Inf; `origin` is the file they came from. */
export function checkFiniteTensors(tensors: ReadonlyMap<string, tf.Tensor>, origin: string): void {
  for (const [name, t] of tensors) {
    // One boolean read back per tensor; the element scan below runs only on a tensor already found bad.
    const finite = tf.tidy(() => tf.all(tf.isFinite(t)));
    const ok = finite.dataSync()[0] === 1;
    finite.dispose();
    if (!ok) {
      const values = t.dataSync();
      const index = values.findIndex((v) => !Number.isFinite(v));
      throw new IntegrityError(`${origin}: tensor "${name}" holds ${values[index]} at flat index ${index} (weights must be finite: a corrupt or badly converted file)`, {
        file: origin,
        tensor: name,
      });
    }
  }
}

/** Throws (NOT_FINITE) if an output vector holds NaN or ±Inf; `what` names the input it belongs to,
 *  `details` says the same in fields (e.g. `{ input: row }`). */
export function checkFiniteVector(vector: Float32Array, what: string, details: ErrorDetails = {}): void {
  const index = vector.findIndex((v) => !Number.isFinite(v));
  if (index >= 0) {
    throw new IntegrityError(`the embedding of ${what} holds ${vector[index]} at dimension ${index}: the weights or activations overflow float32`, details, "NOT_FINITE");
  }
}
