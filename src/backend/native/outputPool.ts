// Recycled output arrays for the native kernels. A fresh large Float32Array is fresh mmap'd memory,
// and every page of it faults on first write: measured on this project's 2-core VM at ~11 µs per
// 4 KiB page, so a [2048, 768] output cost 17 ms to fault in against 0.6 ms to compute. Arrays whose
// tensors are all disposed come back here and are reused at once, already resident.

/** Free arrays by length (a forward pass asks for the same few lengths in every layer). */
export class OutputPool {
  private readonly free = new Map<number, Float32Array[]>();
  private freeBytes = 0;

  /** `maxFreeBytes` bounds what is kept for reuse; arrays beyond it are left to the garbage collector. */
  constructor(private readonly maxFreeBytes = 1 << 30) {}

  take(length: number): Float32Array {
    const array = this.free.get(length)?.pop();
    if (array === undefined) return new Float32Array(length);
    this.freeBytes -= array.byteLength;
    return array;
  }

  give(array: Float32Array): void {
    if (this.freeBytes + array.byteLength > this.maxFreeBytes) return;
    const list = this.free.get(array.length);
    if (list === undefined) this.free.set(array.length, [array]);
    else list.push(array);
    this.freeBytes += array.byteLength;
  }

  /** Bytes held for reuse now. */
  get bytes(): number {
    return this.freeBytes;
  }
}
