// A torch tensor as torch.save describes it: a view (element offset, size, stride) into a typed storage. A view is
// checked against its storage and costed before anything is copied; materialised, contiguous views stay zero-copy
// and strided ones (transposes, column slices, stride-0 broadcasts) become row-major copies.
import type { DType, RawTensor } from "../dtypes";
import { DTYPE_SIZES, numElements } from "../dtypes";
import { describe, PickleTuple } from "./pickle";
import type { ErrorDetails } from "../../errors";
import { Specter2Error } from "../../errors";

/** One storage record of the archive (`<root>/data/<key>`), typed by its persistent id. */
export class StorageRecord {
  constructor(
    readonly entry: string,
    readonly dtype: DType,
    /** Element count declared by the persistent id. */
    readonly numel: unknown,
    readonly bytes: Uint8Array,
  ) {}
}

/** The arguments of torch._utils._rebuild_tensor_v2, as the pickle gave them: checked by checkView. */
export class TensorView {
  constructor(
    readonly storage: unknown,
    readonly offset: unknown,
    readonly size: unknown,
    readonly stride: unknown,
  ) {}
}

/** Larger than any tensor of a BERT checkpoint by far, and below what one Uint8Array may hold. */
const MAX_TENSOR_BYTES = 2 ** 31 - 1;

/** A view checked against its storage, not yet materialised: what it is and what materialising it costs. */
export interface CheckedView {
  storage: StorageRecord;
  offset: number;
  size: readonly number[];
  stride: readonly number[];
  /** Row-major: materialised as a subarray of the storage, no copy. */
  contiguous: boolean;
  /** The bytes of the tensor; a strided view costs that many in a fresh copy. */
  bytes: number;
}

/** Checks the view against its storage (types, rank, bounds) without reading or copying any of its data; errors
 *  (BAD_CHECKPOINT) name `what` (file and tensor) and carry `details` (e.g. `{ file, tensor }`). */
export function checkView(view: TensorView, what: string, details: ErrorDetails = {}): CheckedView {
  const fail = (message: string): never => {
    throw new Specter2Error("BAD_CHECKPOINT", `${what}: ${message}`, details);
  };
  const storage = view.storage instanceof StorageRecord ? view.storage : fail(`storage is ${describe(view.storage)}, not a storage record`);
  const elementSize = DTYPE_SIZES[storage.dtype];
  const numel = isCount(storage.numel) ? storage.numel : fail(`storage ${storage.entry} declares ${describe(storage.numel)} elements`);
  if (storage.bytes.byteLength !== numel * elementSize) {
    fail(`storage record ${storage.entry} holds ${storage.bytes.byteLength} bytes, but its persistent id declares ${numel} ${storage.dtype} elements (${numel * elementSize} bytes)`);
  }
  const offset = isCount(view.offset) ? view.offset : fail(`storage offset is ${describe(view.offset)}`);
  const size = countTuple(view.size) ?? fail(`size is ${describe(view.size)}, not a tuple of non-negative integers`);
  const stride = countTuple(view.stride) ?? fail(`stride is ${describe(view.stride)}, not a tuple of non-negative integers`);
  if (size.length !== stride.length) fail(`size [${size}] and stride [${stride}] differ in rank`);
  const count = numElements(size);
  if (count * elementSize > MAX_TENSOR_BYTES) fail(`size [${size}] is too large (${count} elements)`);
  if (count > 0) {
    const last = size.reduce((end, n, d) => end + (n - 1) * stride[d], offset);
    if (last >= numel) {
      fail(`view (offset ${offset}, size [${size}], stride [${stride}]) reaches element ${last} of storage ${storage.entry}, which holds ${numel} elements`);
    }
  }
  return { storage, offset, size, stride, contiguous: count === 0 || isContiguous(size, stride), bytes: count * elementSize };
}

/** The tensor's contiguous little-endian bytes: a view into the storage where contiguous, else a gathered copy. */
export function materialize(view: CheckedView): RawTensor {
  const { storage, offset, size, stride, bytes } = view;
  const elementSize = DTYPE_SIZES[storage.dtype];
  const start = offset * elementSize;
  const data = view.contiguous ? storage.bytes.subarray(start, start + bytes) : gather(storage.bytes, elementSize, offset, size, stride, bytes / elementSize);
  return { dtype: storage.dtype, shape: [...size], data };
}

function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

function countTuple(value: unknown): number[] | undefined {
  if (!(value instanceof PickleTuple) || !value.items.every(isCount)) return undefined;
  return value.items as number[];
}

/** Row-major strides, where dimensions of length 1 may carry any stride. */
function isContiguous(size: readonly number[], stride: readonly number[]): boolean {
  let expected = 1;
  for (let d = size.length - 1; d >= 0; d--) {
    if (size[d] !== 1 && stride[d] !== expected) return false;
    expected *= size[d];
  }
  return true;
}

/** Copies a strided view (transposes, column slices, broadcasts with stride 0) into row-major order. */
function gather(source: Uint8Array, elementSize: number, offset: number, size: readonly number[], stride: readonly number[], count: number): Uint8Array {
  const out = new Uint8Array(count * elementSize);
  const index = new Array<number>(size.length).fill(0);
  let element = offset;
  for (let i = 0; i < count; i++) {
    const from = element * elementSize;
    for (let b = 0; b < elementSize; b++) out[i * elementSize + b] = source[from + b];
    // Advance the multi-index like an odometer, last dimension fastest.
    for (let d = size.length - 1; d >= 0; d--) {
      if (++index[d] < size[d]) {
        element += stride[d];
        break;
      }
      element -= (size[d] - 1) * stride[d];
      index[d] = 0;
    }
  }
  return out;
}
