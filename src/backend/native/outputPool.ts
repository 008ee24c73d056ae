// Recycled output arrays for the native kernels. A fresh large Float32Array is fresh mmap'd memory, and every page of
// it faults on first write, which costs far more than the kernel that fills it. Arrays whose tensors are all disposed
// come back here and are reused at once, already resident.
//
// Buffers come in size classes (8 per power of two, so at most 1/8 is unused): batches of different
// sequence lengths ask for slightly different sizes, and exact sizes would rarely be reused. A length
// whose class has no free buffer takes one of a larger class (up to twice its own): the engine's
// length-sorted batches get shorter pass by pass, and each would otherwise fault in fresh arrays.

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
  /** Buffers of each class taken and not given back (nor let go). */
  private readonly inUse = new Map<number, number>();
  /** The most buffers of each class in use at once during the pass now running. */
  private readonly passPeaks = new Map<number, number>();
  /** The pass's working set: the bytes of those most-at-once buffers, summed over the classes. A pass of the same
   *  shapes again needs exactly these. The pass's peak in use is smaller (its steps use different classes at
   *  different times), and bounding the pool by that peak dropped buffers that later layers of the same pass took
   *  again, as fresh page-faulting arrays on every pass. */
  private passWorkingSet = 0;
  private readonly recentWorkingSets: number[] = [];
  /** Bytes of buffers dropped (not kept for reuse) since the last endPass. */
  private dropped = 0;

  /** What is kept for reuse is bounded by the largest working set of a recent forward pass (a pass of the same
   *  shapes again finds all it needs; after a run of long batches ends, the pool shrinks within PASSES_REMEMBERED
   *  passes), and by `maxFreeBytes`; beyond it the least recently used classes are left to the garbage collector. */
  constructor(private readonly maxFreeBytes = 2 ** 31) {}

  /** `length` values over a pooled buffer of its size class (the array is a view of its start). */
  take(length: number): Float32Array {
    const capacity = this.fit(sizeClass(length));
    const list = this.free.get(capacity);
    let buffer = list?.pop();
    if (list !== undefined) this.touch(capacity, list);
    if (buffer === undefined) buffer = new ArrayBuffer(capacity * 4);
    else this.freeBytes -= buffer.byteLength;
    const count = (this.inUse.get(capacity) ?? 0) + 1;
    this.inUse.set(capacity, count);
    if (count > (this.passPeaks.get(capacity) ?? 0)) {
      this.passPeaks.set(capacity, count);
      this.passWorkingSet += buffer.byteLength;
    }
    return new Float32Array(buffer, 0, length);
  }

  /** Takes back a buffer from take(); the caller must hold no view of it any more. */
  give(buffer: ArrayBuffer): void {
    this.letGo(buffer);
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
    const capacity = buffer.byteLength / 4;
    const count = this.inUse.get(capacity) ?? 0;
    if (count > 1) this.inUse.set(capacity, count - 1);
    else this.inUse.delete(capacity);
  }

  /** A forward pass ended: its working set joins the recent ones, and what the bound no longer covers is freed.
   *  Returns the bytes let go since the last call (buffers the garbage collector may now free). */
  endPass(): number {
    this.recentWorkingSets.push(this.passWorkingSet);
    if (this.recentWorkingSets.length > PASSES_REMEMBERED) this.recentWorkingSets.shift();
    // Buffers still in use belong to the next pass's working set.
    this.passPeaks.clear();
    this.passWorkingSet = 0;
    for (const [capacity, count] of this.inUse) {
      this.passPeaks.set(capacity, count);
      this.passWorkingSet += capacity * 4 * count;
    }
    this.trim();
    const dropped = this.dropped;
    this.dropped = 0;
    return dropped;
  }

  /** Bytes held for reuse now. */
  get bytes(): number {
    return this.freeBytes;
  }

  /** The most free bytes kept: the largest working set of a recent pass (or of the one running). */
  private get bound(): number {
    return Math.min(this.maxFreeBytes, Math.max(this.passWorkingSet, ...this.recentWorkingSets));
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

  /** The class to take from: `capacity`'s own if it has a free buffer, else the smallest free class up to twice as
   *  large (a shorter batch after a longer one reuses the longer one's resident buffers), else `capacity`. */
  private fit(capacity: number): number {
    if (this.free.has(capacity)) return capacity;
    let best = capacity;
    for (const c of this.free.keys()) if (c > capacity && c <= 2 * capacity && (best === capacity || c < best)) best = c;
    return best;
  }

  /** Marks the class as the most recently used (and drops it when empty). */
  private touch(capacity: number, list: ArrayBuffer[]): void {
    this.free.delete(capacity);
    if (list.length > 0) this.free.set(capacity, list);
  }
}
