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
  /** Free buffers by capacity; the Map's order is least recently used first (a class moves to the end
   *  when used), so the classes of the shapes in use now are the ones kept. */
  private readonly free = new Map<number, ArrayBuffer[]>();
  private freeBytes = 0;

  /** `maxFreeBytes` bounds what is kept for reuse; beyond it the least recently used classes are left to
   *  the garbage collector. */
  constructor(private readonly maxFreeBytes = 2 ** 31) {}

  /** `length` values over a pooled buffer of its size class (the array is a view of its start). */
  take(length: number): Float32Array {
    const capacity = sizeClass(length);
    const list = this.free.get(capacity);
    const buffer = list?.pop();
    if (list !== undefined) this.touch(capacity, list);
    if (buffer === undefined) return new Float32Array(new ArrayBuffer(capacity * 4), 0, length);
    this.freeBytes -= buffer.byteLength;
    return new Float32Array(buffer, 0, length);
  }

  /** Takes back a buffer from take(); the caller must hold no view of it any more. */
  give(buffer: ArrayBuffer): void {
    if (buffer.byteLength > this.maxFreeBytes) return;
    const capacity = buffer.byteLength / 4;
    const list = this.free.get(capacity) ?? [];
    list.push(buffer);
    this.touch(capacity, list);
    this.freeBytes += buffer.byteLength;
    for (const [c, stale] of this.free) {
      if (this.freeBytes <= this.maxFreeBytes) break;
      while (stale.length > 0 && this.freeBytes > this.maxFreeBytes) this.freeBytes -= stale.pop()!.byteLength;
      if (stale.length === 0) this.free.delete(c);
    }
  }

  /** Bytes held for reuse now. */
  get bytes(): number {
    return this.freeBytes;
  }

  /** Marks the class as the most recently used (and drops it when empty). */
  private touch(capacity: number, list: ArrayBuffer[]): void {
    this.free.delete(capacity);
    if (list.length > 0) this.free.set(capacity, list);
  }
}
