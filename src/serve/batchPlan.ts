// Which pending rows of one adapter go into the next forward pass. Pure, so the policy is testable alone.

/**
 * Indices of `lengths` (token counts, in arrival order) for one batch whose padded size
 * (rows × longest row) stays within `budget`. The oldest row (index 0) is always included, so no row
 * waits forever behind a stream of shorter ones; the rest are its neighbours in length, so padding
 * stays small. Returned sorted by length, then by arrival.
 */
export function planBatch(lengths: readonly number[], budget: number): number[] {
  if (lengths.length === 0) return [];
  const order = lengths.map((_, i) => i).sort((a, b) => lengths[a] - lengths[b] || a - b);
  const anchor = lengths[0];
  let lo = order.indexOf(0);
  let hi = lo;
  for (;;) {
    const rows = hi - lo + 2; // the batch size if one more row joins
    const up = hi + 1 < order.length ? lengths[order[hi + 1]] : undefined;
    const down = lo > 0 ? lengths[order[lo - 1]] : undefined;
    const upFits = up !== undefined && rows * up <= budget;
    // A shorter row does not raise the padded length.
    const downFits = down !== undefined && rows * lengths[order[hi]] <= budget;
    if (upFits && (!downFits || up - anchor <= anchor - down)) hi++;
    else if (downFits) lo--;
    else break;
  }
  return order.slice(lo, hi + 1);
}
