// Integrity checks that hold wherever the model runs: a file's bytes against the manifest's digest, weights and
// outputs that must be finite. Errors name the file (and the tensor) so a corrupt download is found at once.
import type { ErrorCode, ErrorDetails } from "../errors";
import { Specter2Error } from "../errors";
import type { FileDigest } from "./modelDir";

/** A model file that fails its checks (BAD_CHECKPOINT), or an output that is not finite (NOT_FINITE). */
export class IntegrityError extends Specter2Error {
  constructor(message: string, details: ErrorDetails = {}, code: ErrorCode = "BAD_CHECKPOINT") {
    super(code, message, details);
    this.name = "IntegrityError";
  }
}

/** Throws naming the file if its bytes are not the size and sha256 the manifest gives (`sha256`: the hex digest of
 *  exactly these bytes, as the platform computes it; null: the size alone is checked). */
export function checkDigest(name: string, bytes: Uint8Array, sha256: string | null, expected: FileDigest): void {
  if (bytes.byteLength !== expected.bytes) throw new IntegrityError(`${name}: ${bytes.byteLength} bytes, the manifest says ${expected.bytes}`, { file: name });
  if (sha256 !== null && sha256 !== expected.sha256) throw new IntegrityError(`${name}: sha256 ${sha256}, the manifest says ${expected.sha256}`, { file: name });
}

/** Throws naming the tensor and element if a weight is NaN or ±Inf; `origin` is the file it came from. Checked on the
 *  values before they become a tensor: the same on every backend, and no read back from a GPU. */
export function checkFiniteWeights(values: Float32Array, origin: string, tensor: string): void {
  const index = values.findIndex((v) => !Number.isFinite(v));
  if (index >= 0) {
    throw new IntegrityError(`${origin}: tensor "${tensor}" holds ${values[index]} at flat index ${index} (weights must be finite: a corrupt or badly converted file)`, {
      file: origin,
      tensor,
    });
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
