// How a call's inputs are cut into forward passes: sorted by token length, so each batch pads little.
// Specter2.embed and the worker pool both use it, so a call forms the same batches on either and gets
// the same numbers (a batch's padding width changes the summation order, and so the last bits).

/** Row indices in batches of at most `batchSize`, shortest first; ties keep input order. */
export function lengthSortedBatches(lengths: readonly number[], batchSize: number): number[][] {
  const order = lengths.map((_, i) => i).sort((a, b) => lengths[a] - lengths[b]);
  const batches: number[][] = [];
  for (let start = 0; start < order.length; start += batchSize) batches.push(order.slice(start, start + batchSize));
  return batches;
}
