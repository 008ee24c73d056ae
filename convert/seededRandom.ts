// Reproducible pseudo-random numbers for generated models, corpora and benchmarks: the same seed
// gives the same values on every platform and run.

/** mulberry32: uniform in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal values (Box-Muller over seededRandom). */
export function seededGaussian(seed: number): () => number {
  const u = seededRandom(seed);
  return () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
}

/** Uniform in [-1, 1): seededRandom scaled (random test operands). */
export function seededSigned(seed: number): () => number {
  const u = seededRandom(seed);
  return () => 2 * u() - 1;
}
