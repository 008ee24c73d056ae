// The k best items of a stream, in O(k) memory: a binary heap whose root is the worst item kept, so
// each new item is compared with the root and, when better, replaces it (O(log k)).
import { checkOption } from "../engine/options";

export class TopK<T> {
  private readonly heap: T[] = [];

  /** `better(a, b)`: a ranks before b. It must be a strict total order for the result to be deterministic. */
  constructor(
    readonly k: number,
    private readonly better: (a: T, b: T) => boolean,
  ) {
    checkOption("k", k);
  }

  get size(): number {
    return this.heap.length;
  }

  push(item: T): void {
    const h = this.heap;
    if (h.length < this.k) {
      h.push(item);
      this.siftUp(h.length - 1);
    } else if (this.better(item, h[0])) {
      h[0] = item;
      this.siftDown(0);
    }
  }

  /** The kept items, best first. */
  sorted(): T[] {
    return [...this.heap].sort((a, b) => (this.better(a, b) ? -1 : this.better(b, a) ? 1 : 0));
  }

  // Heap order: a parent is never better than its children (the worst item sits at the root).
  private siftUp(i: number): void {
    const h = this.heap;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.better(h[parent], h[i])) break;
      [h[parent], h[i]] = [h[i], h[parent]];
      i = parent;
    }
  }

  private siftDown(i: number): void {
    const h = this.heap;
    for (;;) {
      let worst = i;
      for (const child of [2 * i + 1, 2 * i + 2]) {
        if (child < h.length && this.better(h[worst], h[child])) worst = child;
      }
      if (worst === i) return;
      [h[worst], h[i]] = [h[i], h[worst]];
      i = worst;
    }
  }
}
