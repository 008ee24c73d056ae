// Which pending rows go into the next forward pass. Pure, so the policy is testable alone.

export interface BatchCosts {
  /** What one more forward pass costs beyond its tokens, in tokens: a row joins a batch while what it adds costs
   *  at most this, since past that it is cheaper in a pass of its own. Infinity fills the budget. */
  overheadTokens: number;
  /** The group (adapter) of each row; a batch of several groups runs each group's adapter apart. */
  groups?: readonly unknown[];
  /** What each group beyond the first costs, as a fraction of the batch's padded tokens. */
  groupCost?: number;
}

/**
 * Indices of `lengths` (token counts, in arrival order) for one batch whose padded size (rows × longest row)
 * stays within `budget`. The oldest row (index 0) is always included, so no row waits forever behind a stream of
 * shorter ones; then, one at a time, the row that adds least cost (the padding it brings, and a group's cost if
 * it brings a new group), while that is at most `overheadTokens`. Returned sorted by length, then by arrival.
 */
export function planBatch(lengths: readonly number[], budget: number, costs: BatchCosts = { overheadTokens: Infinity }): number[] {
  if (lengths.length === 0) return [];
  const { overheadTokens, groups, groupCost = 0 } = costs;
  const chosen = [0];
  const taken = new Set(chosen);
  const present = new Set([groups?.[0]]);
  let longest = lengths[0];
  for (;;) {
    const rows = chosen.length + 1; // the batch size if one more row joins
    let best = -1;
    let bestCost = Infinity;
    lengths.forEach((length, i) => {
      const padded = Math.max(longest, length);
      if (taken.has(i) || rows * padded > budget) return;
      // A longer row pads every row already in; a shorter one is padded itself.
      const padding = (rows - 1) * (padded - longest) + (padded - length);
      const cost = padding + (groups && !present.has(groups[i]) ? groupCost * rows * padded : 0);
      if (cost < bestCost || (cost === bestCost && length < lengths[best])) {
        best = i;
        bestCost = cost;
      }
    });
    if (best < 0 || bestCost > overheadTokens) break;
    chosen.push(best);
    taken.add(best);
    present.add(groups?.[best]);
    longest = Math.max(longest, lengths[best]);
  }
  return chosen.sort((a, b) => lengths[a] - lengths[b] || a - b);
}
