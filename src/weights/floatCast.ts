// Checkpoint tensors to the dtype of our model directory, with the exact conversions of
// src/weights/dtypes.ts: F16/BF16 → F32 exact, F32 → F16 rounded as torch's .half(), F32 → BF16 as torch's
// .bfloat16() (nearest, ties to even), and matrices to row-wise symmetric int8 with their scales.
import type { RawTensor } from "./dtypes";
import { alignedBytes, INT8_SCALE_SUFFIX, quantizeRows, toBFloat16Bytes, toFloat16Bytes, toFloat32 } from "./dtypes";
import type { ErrorDetails } from "../errors";
import { Specter2Error } from "../errors";

export type FloatDType = "F32" | "F16" | "BF16";

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
  // bf16 has float32's range: only values within half a bf16 step of float32's largest round to infinity.
  if (to === "BF16") {
    const bits = toBFloat16Bytes(values);
    const half = new Uint16Array(bits.buffer);
    const i = half.findIndex((h, j) => (h & 0x7fff) === 0x7f80 && Number.isFinite(values[j]));
    if (i >= 0) throw new Specter2Error("BAD_CHECKPOINT", `${what}: value ${values[i]} at index ${i} is too large for bfloat16; convert with --dtype float32`, details);
    return { dtype: "BF16", shape: t.shape, data: bits };
  }
  // An infinite weight would silently turn every embedding into NaN.
  const i = values.findIndex((v) => Math.abs(v) >= FLOAT16_OVERFLOW && Number.isFinite(v));
  if (i >= 0) throw new Specter2Error("BAD_CHECKPOINT", `${what}: value ${values[i]} at index ${i} is too large for float16 (max 65504); convert with --dtype float32`, details);
  return { dtype: "F16", shape: t.shape, data: toFloat16Bytes(values) };
}

/** A matrix [rows, cols] as stored int8 (src/weights/dtypes.ts INT8_SCHEME): the I8 tensor, and its F32 scales [rows]
 *  under `name + INT8_SCALE_SUFFIX`. */
export function quantizeMatrix(name: string, t: RawTensor, what: string, details: ErrorDetails = { tensor: what }): [string, RawTensor][] {
  if (t.shape.length !== 2) throw new Specter2Error("BAD_CHECKPOINT", `${what}: only matrices are stored as int8, this has shape [${t.shape.join(", ")}]`, details);
  const values = new Float32Array(alignedBytes(castFloatTensor(t, "F32", what, details).data));
  const [rows, cols] = t.shape;
  const { q, scale } = quantizeRows(values, rows, cols);
  return [
    [name, { dtype: "I8", shape: t.shape, data: new Uint8Array(q.buffer) }],
    [name + INT8_SCALE_SUFFIX, { dtype: "F32", shape: [rows], data: new Uint8Array(scale.buffer) }],
  ];
}
