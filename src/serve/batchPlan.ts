// Which pending rows go into the next forward pass (planBatch: pure, so the policy is testable alone), and the costs
// it weighs (PassCost): what one more forward pass costs beyond its tokens, and what each adapter beyond the first
// adds to a mixed pass, learned from the passes the server has run, so that the plan weighs padding and mixing
// against passes as this backend on this machine does. On a CPU a pass costs a few dozen tokens' worth beyond its
// padded tokens; on a GPU far more, and there filling the budget pays (benchmarks/RESULTS.md has the figures).

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

/** Each adapter beyond the first, as a fraction of a pass's padded tokens, until mixed passes have been seen: a few
 *  per cent, since only each adapter's own products run per adapter (RowAdapters, src/model/adapter.ts); the mixed
 *  traffic benchmark measures it (benchmarks/RESULTS.md). */
const GROUP_COST_PRIOR = 0.03;
/** Passes the fit looks back over. */
const WINDOW = 128;
/** Passes needed before the fit replaces the priors. */
const MIN_PASSES = 16;
/** Mixed passes needed before the fit tells their cost apart. */
const MIN_MIXED = 8;
/** Below this spread of padded sizes (coefficient of variation) the passes cannot tell overhead from tokens. */
const MIN_SPREAD = 0.1;

interface Pass {
  tokens: number;
  seconds: number;
  adapters: number;
}

export class PassCost {
  private readonly passes: Pass[] = [];
  private overhead: number;
  private group = GROUP_COST_PRIOR;

  /** `prior`: the overhead until the passes seen can replace it; with `learn` false, both costs stay as they start. */
  constructor(
    prior: number,
    private readonly learn = true,
  ) {
    this.overhead = prior;
  }

  /** Overhead tokens: a row joins a batch while what it adds costs at most this. */
  get overheadTokens(): number {
    return this.overhead;
  }

  /** Each adapter beyond the first in a batch, as a fraction of its padded tokens. */
  get groupCost(): number {
    return this.group;
  }

  /** A pass ran: `paddedTokens` (rows × longest row) of `adapters` adapters in `seconds`. */
  observe(paddedTokens: number, seconds: number, adapters = 1): void {
    if (!this.learn) return;
    this.passes.push({ tokens: paddedTokens, seconds, adapters });
    if (this.passes.length > WINDOW) this.passes.shift();
    if (this.passes.length >= MIN_PASSES) this.refit();
  }

  /** Least squares seconds = overhead + perToken × tokens + perMixed × tokens × (adapters − 1), the last term only
   *  where 8 of the passes mixed adapters (else they are left out and the group cost stays as it was: mixed passes
   *  cost more per token, and bigger batches mix more, so in a fit without that term the slope rises and the
   *  overhead falls towards 0). Overhead tokens = overhead / perToken; group cost
   *  = perMixed / perToken. Once the plan stops mixing, no mixed pass comes to revise it. */
  private refit(): void {
    const mixed = this.passes.filter((p) => p.adapters > 1).length >= MIN_MIXED;
    const used = mixed ? this.passes : this.passes.filter((p) => p.adapters === 1);
    if (used.length < MIN_PASSES) return;
    const meanT = used.reduce((s, p) => s + p.tokens, 0) / used.length;
    const spread = Math.sqrt(used.reduce((s, p) => s + (p.tokens - meanT) ** 2, 0) / used.length);
    if (spread < MIN_SPREAD * meanT) return;
    const rows = used.map((p) => (mixed ? [1, p.tokens, p.tokens * (p.adapters - 1)] : [1, p.tokens]));
    const solved = leastSquares(
      rows,
      used.map((p) => p.seconds),
    );
    if (!solved) return;
    const [overhead, perToken, perMixed = this.group * perToken] = solved;
    // Time that does not grow with tokens: padding is free, so fill the budget.
    if (!(perToken > 0)) {
      this.overhead = Infinity;
      return;
    }
    this.overhead = Math.max(0, overhead / perToken);
    this.group = Math.max(0, perMixed / perToken);
  }
}

/** β minimising |Xβ − y|², by the normal equations (Gaussian elimination with partial pivoting); null where XᵀX is
 *  singular (a column that the passes do not vary). */
function leastSquares(x: number[][], y: number[]): number[] | null {
  const k = x[0].length;
  // [XᵀX | Xᵀy], columns scaled to unit size so that tokens (~10³) and the constant (1) are pivoted alike.
  const scale = Array.from({ length: k }, (_, j) => Math.sqrt(x.reduce((s, r) => s + r[j] ** 2, 0)) || 1);
  const a = Array.from({ length: k }, (_, i) => [
    ...Array.from({ length: k }, (_, j) => x.reduce((s, r) => s + (r[i] / scale[i]) * (r[j] / scale[j]), 0)),
    x.reduce((s, r, n) => s + (r[i] / scale[i]) * y[n], 0),
  ]);
  for (let c = 0; c < k; c++) {
    let pivot = c;
    for (let r = c + 1; r < k; r++) if (Math.abs(a[r][c]) > Math.abs(a[pivot][c])) pivot = r;
    if (Math.abs(a[pivot][c]) < 1e-9) return null;
    [a[c], a[pivot]] = [a[pivot], a[c]];
    for (let r = 0; r < k; r++) {
      if (r === c) continue;
      const f = a[r][c] / a[c][c];
      for (let j = c; j <= k; j++) a[r][j] -= f * a[c][j];
    }
  }
  return a.map((row, i) => row[k] / row[i] / scale[i]);
}
