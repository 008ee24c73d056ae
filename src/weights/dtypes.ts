// Tensor element types as safetensors names them, the plain bytes every reader hands over, and conversions between
// them: F16 and BF16 widen to F32 exactly; F32 → F16 rounds to nearest, ties to even, as torch's .half() does; F32 →
// BF16 likewise; matrices quantize to int8 per row and stored int8 dequantizes.
import type { ErrorDetails } from "../errors";
import { Specter2Error } from "../errors";

export const DTYPE_SIZES = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
} as const;

export type DType = keyof typeof DTYPE_SIZES;

export function isDType(s: string): s is DType {
  return Object.prototype.hasOwnProperty.call(DTYPE_SIZES, s);
}

/** A tensor as bytes: row-major, contiguous, little-endian. */
export interface RawTensor {
  dtype: DType;
  shape: number[];
  data: Uint8Array;
}

export function numElements(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

export function floatToHalf(value: number): number {
  f32[0] = value;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    // Subnormal: shift the full mantissa (implicit 1 included) and round to nearest even.
    const m = mant | 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = m & ((1 << shift) - 1);
    let r = m >>> shift;
    if (rest > half || (rest === half && r & 1)) r++;
    return sign | r;
  }
  let r = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && r & 1)) r++; // may carry into the exponent: still correct
  return sign | r;
}

let halfTable: Float32Array | null = null;

/** All 65536 half-precision values, so widening a tensor is one lookup per element. */
function halfToFloatTable(): Float32Array {
  if (!halfTable) {
    halfTable = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) halfTable[h] = halfToFloat(h);
  }
  return halfTable;
}

/** A copy of the bytes in a fresh, aligned buffer of their own (tensor data may be an unaligned view
 *  into a file, or a Node Buffer whose slice() is a view, not a copy). */
export function alignedBytes(data: Uint8Array): ArrayBuffer {
  return new Uint8Array(data).buffer;
}

function ownsItsBuffer(data: Uint8Array): boolean {
  return data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && data.buffer instanceof ArrayBuffer;
}

/** The tensor's values as float32 (F32, F16, BF16, F64 sources). */
export function toFloat32(t: RawTensor, name: string, details?: ErrorDetails): Float32Array {
  switch (t.dtype) {
    case "F32":
      // Bytes that are a buffer of their own (read a tensor at a time) become the values as they are; a view into a
      // whole file is copied, so the file's buffer can go once the tensors are made.
      return ownsItsBuffer(t.data) ? new Float32Array(t.data.buffer, 0, t.data.byteLength / 4) : new Float32Array(alignedBytes(t.data));
    case "F16": {
      const bits = new Uint16Array(alignedBytes(t.data));
      const table = halfToFloatTable();
      const out = new Float32Array(bits.length);
      for (let i = 0; i < bits.length; i++) out[i] = table[bits[i]];
      return out;
    }
    case "BF16": {
      const bits = new Uint16Array(alignedBytes(t.data));
      const out = new Float32Array(bits.length);
      const outBits = new Uint32Array(out.buffer);
      for (let i = 0; i < bits.length; i++) outBits[i] = bits[i] << 16;
      return out;
    }
    case "F64":
      return Float32Array.from(new Float64Array(alignedBytes(t.data)));
    default:
      throw new Specter2Error("BAD_CHECKPOINT", `tensor "${name}": dtype ${t.dtype} is not a float type`, details ?? { tensor: name });
  }
}

/** float32 values as F16 bytes. */
export function toFloat16Bytes(values: Float32Array): Uint8Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = floatToHalf(values[i]);
  return new Uint8Array(out.buffer);
}

/** float32 values as BF16 bytes, rounded to nearest even (as torch's .bfloat16() and oneDNN do); NaN stays NaN. */
export function toBFloat16Bytes(values: Float32Array): Uint8Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < bits.length; i++) {
    const x = bits[i];
    if ((x & 0x7f800000) === 0x7f800000 && (x & 0x7fffff) !== 0) out[i] = (x >>> 16) | 0x40;
    else out[i] = (x + 0x7fff + ((x >>> 16) & 1)) >>> 16; // may carry into the exponent: still correct (to ±Inf beyond bf16's range)
  }
  return new Uint8Array(out.buffer);
}

/** Stored int8 weights (`convert --dtype int8`): tensor `name` of dtype I8, shape [rows, cols], with `name + INT8_SCALE_SUFFIX`
 *  of dtype F32, shape [rows]: value = q · scale[row]. Symmetric: q in −127..127, scale = max |row| / 127 (1 for a zero row). */
export const INT8_SCALE_SUFFIX = ".scale" as const;
export const INT8_SCHEME = "s8-symmetric-per-row" as const;

function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Row-wise symmetric int8 of a [rows, cols] matrix: the scales in float32 and q = round-half-even(value / scale) clamped to
 *  ±127, computed in float32 as the native backend quantizes at load (so loading a stored int8 model gives the same integers). */
export function quantizeRows(values: Float32Array, rows: number, cols: number): { q: Int8Array; scale: Float32Array } {
  const q = new Int8Array(rows * cols);
  const scale = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let max = 0;
    for (let c = r * cols; c < (r + 1) * cols; c++) max = Math.max(max, Math.abs(values[c]));
    const s = max > 0 ? Math.fround(max / 127) : 1;
    scale[r] = s;
    for (let c = r * cols; c < (r + 1) * cols; c++) q[c] = Math.max(-127, Math.min(127, roundHalfEven(Math.fround(values[c] / s))));
  }
  return { q, scale };
}

/**
 * The file's tensors with every stored int8 weight dequantized to F32 (q · scale) and its scale tensor consumed. Verified:
 * each I8 tensor is a matrix with a finite, positive F32 scale per row and values in −127..127, and every scale tensor has
 * its I8 tensor; anything else is BAD_CHECKPOINT naming the tensor. A file without I8 tensors is returned as it is.
 */
export function dequantizeInt8(raw: ReadonlyMap<string, RawTensor>, file: string): ReadonlyMap<string, RawTensor> {
  if (![...raw.values()].some((t) => t.dtype === "I8")) {
    const orphan = [...raw.keys()].find((n) => n.endsWith(INT8_SCALE_SUFFIX) && raw.has(n.slice(0, -INT8_SCALE_SUFFIX.length)));
    if (orphan !== undefined) throw new Specter2Error("BAD_CHECKPOINT", `${file}: tensor "${orphan}" is an int8 scale, but its tensor is not int8`, { file, tensor: orphan });
    return raw;
  }
  const out = new Map<string, RawTensor>();
  for (const [name, t] of raw) {
    const bad = (why: string): never => {
      throw new Specter2Error("BAD_CHECKPOINT", `${file}: tensor "${name}" ${why} (stored int8 weights, ${INT8_SCHEME}: re-run \`specter2 convert --dtype int8\`)`, { file, tensor: name });
    };
    if (name.endsWith(INT8_SCALE_SUFFIX) && raw.get(name.slice(0, -INT8_SCALE_SUFFIX.length))?.dtype === "I8") continue;
    if (name.endsWith(INT8_SCALE_SUFFIX) && raw.has(name.slice(0, -INT8_SCALE_SUFFIX.length))) bad("is an int8 scale, but its tensor is not int8");
    if (t.dtype !== "I8") {
      out.set(name, t);
      continue;
    }
    if (t.shape.length !== 2) bad(`is int8 with shape [${t.shape.join(", ")}]: only matrices are stored so`);
    const [rows, cols] = t.shape;
    const s = raw.get(name + INT8_SCALE_SUFFIX);
    if (s === undefined) bad(`is int8 without its scales "${name}${INT8_SCALE_SUFFIX}"`);
    if (s!.dtype !== "F32" || s!.shape.length !== 1 || s!.shape[0] !== rows) bad(`has scales of ${s!.dtype} [${s!.shape.join(", ")}], expected F32 [${rows}]`);
    const scale = new Float32Array(alignedBytes(s!.data));
    const r = scale.findIndex((v) => !(Number.isFinite(v) && v > 0));
    if (r >= 0) bad(`has scale ${scale[r]} for row ${r}: scales are finite and positive`);
    const q = new Int8Array(alignedBytes(t.data));
    const values = new Float32Array(rows * cols);
    for (let row = 0; row < rows; row++) {
      for (let c = row * cols; c < (row + 1) * cols; c++) {
        if (q[c] === -128) bad(`holds −128 at index ${c}: symmetric int8 stays within −127..127`);
        values[c] = q[c] * scale[row];
      }
    }
    out.set(name, { dtype: "F32", shape: t.shape, data: new Uint8Array(values.buffer) });
  }
  return out;
}
