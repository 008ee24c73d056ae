// Recycled output arrays for the native kernels. A fresh large Float32Array is fresh mmap'd memory,
// and every page of it faults on first write: measured on this project's 2-core VM at ~11 µs per
// 4 KiB page, so a [2048, 768] output cost 17 ms to fault in against 0.6 ms to compute. Arrays whose
// tensors are all disposed come back here and are reused at once, already resident.
//
// Buffers come in size classes (8 per power of two, so at most 1/8 is unused): batches of different
// sequence lengths ask for slightly different sizes, and exact sizes would rarely be reused.

/** The capacity (in values) of the class that holds `length` values. */
export function sizeClass(length: number): number {
  if (length <= 16) return 16;
  const step = 2 ** (Math.floor(Math.log2(length)) - 3);
  return Math.ceil(length / step) * step;
}

export class OutputPool {
  /** Free buffers by capacity. */
  private readonly free = new Map<number, ArrayBuffer[]>();
  private freeBytes = 0;

  /** `maxFreeBytes` bounds what is kept for reuse; buffers beyond it are left to the garbage collector. */
  constructor(private readonly maxFreeBytes = 1 << 30) {}

  /** `length` values over a pooled buffer of its size class (the array is a view of its start). */
  take(length: number): Float32Array {
    const capacity = sizeClass(length);
    const buffer = this.free.get(capacity)?.pop();
    if (buffer === undefined) return new Float32Array(new ArrayBuffer(capacity * 4), 0, length);
    this.freeBytes -= buffer.byteLength;
    return new Float32Array(buffer, 0, length);
  }

  /** Takes back a buffer from take(); the caller must hold no view of it any more. */
  give(buffer: ArrayBuffer): void {
    if (this.freeBytes + buffer.byteLength > this.maxFreeBytes) return;
    const capacity = buffer.byteLength / 4;
    const list = this.free.get(capacity);
    if (list === undefined) this.free.set(capacity, [buffer]);
    else list.push(buffer);
    this.freeBytes += buffer.byteLength;
  }

  /** Bytes held for reuse now. */
  get bytes(): number {
    return this.freeBytes;
  }
}
