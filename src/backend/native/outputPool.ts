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

/** How many recent forward passes the pool keeps enough free memory for: the largest of them. */
export const PASSES_REMEMBERED = 8;

export class OutputPool {
  /** Free buffers by capacity; the Map's order is least recently used first (a class moves to the end
   *  when used), so the classes of the shapes in use now are the ones kept. */
  private readonly free = new Map<number, ArrayBuffer[]>();
  private freeBytes = 0;
  /** Bytes of buffers taken and not given back (nor let go). */
  private inUse = 0;
  /** The most in use at once during the pass now running, and during each of the last PASSES_REMEMBERED. */
  private passPeak = 0;
  private readonly recentPeaks: number[] = [];
  /** Bytes of buffers dropped (not kept for reuse) since the last endPass. */
  private dropped = 0;

  /** What is kept for reuse is bounded by the most a recent forward pass had in use at once (a pass of the same
   *  shapes again finds all it needs; after a run of long batches ends, the pool shrinks within PASSES_REMEMBERED
   *  passes), and by `maxFreeBytes`; beyond it the least recently used classes are left to the garbage collector. */
  constructor(private readonly maxFreeBytes = 2 ** 31) {}

  /** `length` values over a pooled buffer of its size class (the array is a view of its start). */
  take(length: number): Float32Array {
    const capacity = sizeClass(length);
    const list = this.free.get(capacity);
    let buffer = list?.pop();
    if (list !== undefined) this.touch(capacity, list);
    if (buffer === undefined) buffer = new ArrayBuffer(capacity * 4);
    else this.freeBytes -= buffer.byteLength;
    this.inUse += buffer.byteLength;
    this.passPeak = Math.max(this.passPeak, this.inUse);
    return new Float32Array(buffer, 0, length);
  }

  /** Takes back a buffer from take(); the caller must hold no view of it any more. */
  give(buffer: ArrayBuffer): void {
    this.inUse -= buffer.byteLength;
    if (buffer.byteLength > this.bound) {
      this.dropped += buffer.byteLength;
      return;
    }
    const capacity = buffer.byteLength / 4;
    const list = this.free.get(capacity) ?? [];
    list.push(buffer);
    this.touch(capacity, list);
    this.freeBytes += buffer.byteLength;
    this.trim();
  }

  /** A buffer from take() that will not come back (a tensor kept its memory, e.g. a weight that was packed). */
  letGo(buffer: ArrayBuffer): void {
    this.inUse -= buffer.byteLength;
  }

  /** A forward pass ended: its peak joins the recent ones, and what the bound no longer covers is freed. Returns the
   *  bytes let go since the last call (buffers the garbage collector may now free). */
  endPass(): number {
    this.recentPeaks.push(this.passPeak);
    if (this.recentPeaks.length > PASSES_REMEMBERED) this.recentPeaks.shift();
    this.passPeak = this.inUse;
    this.trim();
    const dropped = this.dropped;
    this.dropped = 0;
    return dropped;
  }

  /** Bytes held for reuse now. */
  get bytes(): number {
    return this.freeBytes;
  }

  /** The most free bytes kept: as much as the largest recent pass (or the one running) had in use at once. */
  private get bound(): number {
    return Math.min(this.maxFreeBytes, Math.max(this.passPeak, ...this.recentPeaks));
  }

  private trim(): void {
    const bound = this.bound;
    for (const [c, stale] of this.free) {
      if (this.freeBytes <= bound) break;
      while (stale.length > 0 && this.freeBytes > bound) {
        const gone = stale.pop()!.byteLength;
        this.freeBytes -= gone;
        this.dropped += gone;
      }
      if (stale.length === 0) this.free.delete(c);
    }
  }

  /** Marks the class as the most recently used (and drops it when empty). */
  private touch(capacity: number, list: ArrayBuffer[]): void {
    this.free.delete(capacity);
    if (list.length > 0) this.free.set(capacity, list);
  }
}
