// Checkpoint tensors to the dtype of our model directory, with the exact conversions of
// src/weights/float.ts: F16/BF16 → F32 exact, F32 → F16 rounded as torch's .half().
import type { RawTensor } from "../src/weights/dtypes";
import { toFloat16Bytes, toFloat32 } from "../src/weights/float";
import type { ErrorDetails } from "../src/errors";
import { Specter2Error } from "../src/errors";

export type FloatDType = "F32" | "F16";

/** Anything from here up rounds to float16 infinity (65504 is the largest finite half). */
const FLOAT16_OVERFLOW = 65520;
const FLOAT_SOURCES = ["F32", "F16", "BF16", "F64"];

/** `what` names the tensor (and file) in errors (BAD_CHECKPOINT), `details` says so in fields (`{ file, tensor }`). */
export function castFloatTensor(t: RawTensor, to: FloatDType, what: string, details: ErrorDetails = { tensor: what }): RawTensor {
  if (t.dtype === to) return t;
  if (!FLOAT_SOURCES.includes(t.dtype)) {
    throw new Specter2Error("BAD_CHECKPOINT", `${what}: dtype ${t.dtype} is not a floating-point type (expected ${FLOAT_SOURCES.join(", ")})`, details);
  }
  const values = toFloat32(t, what, details);
  if (to === "F32") return { dtype: "F32", shape: t.shape, data: new Uint8Array(values.buffer) };
  // An infinite weight would silently turn every embedding into NaN.
  const i = values.findIndex((v) => Math.abs(v) >= FLOAT16_OVERFLOW && Number.isFinite(v));
  if (i >= 0) throw new Specter2Error("BAD_CHECKPOINT", `${what}: value ${values[i]} at index ${i} is too large for float16 (max 65504); convert with --dtype float32`, details);
  return { dtype: "F16", shape: t.shape, data: toFloat16Bytes(values) };
}
