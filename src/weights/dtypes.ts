// Tensor element types as safetensors names them, and the plain bytes every reader hands over.

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
