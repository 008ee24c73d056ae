// Conversions between the float formats checkpoints use. F16 and BF16 widen to F32 exactly;
// F32 → F16 rounds to nearest, ties to even, as torch's .half() does.
import type { RawTensor } from "./dtypes";
import type { ErrorDetails } from "../errors";
import { Specter2Error } from "../errors";

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

/** The tensor's values as float32 (F32, F16, BF16, F64 sources). */
export function toFloat32(t: RawTensor, name: string, details?: ErrorDetails): Float32Array {
  switch (t.dtype) {
    case "F32":
      return new Float32Array(alignedBytes(t.data));
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
