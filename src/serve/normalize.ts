// `normalize` on /embed (TEI's) and /v1/embeddings (our extension): unit vectors, as float32.

/** The unit vector; a zero vector stays zero. */
export function normalized(v: Float32Array): Float32Array {
  let sum = 0;
  for (const x of v) sum += x * x;
  const norm = Math.sqrt(sum) || 1;
  return Float32Array.from(v, (x) => x / norm);
}
