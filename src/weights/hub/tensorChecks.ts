// Small helpers shared by the base and adapter weight mappings.

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** A readable list that stays short when a whole model is missing. */
export function listNames(names: string[], limit = 12): string {
  const shown = names.slice(0, limit).join(", ");
  return names.length > limit ? `${shown}, … (${names.length} in all)` : shown;
}
