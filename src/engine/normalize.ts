// `normalize`: unit vectors, as float32, so that cosine similarity is a dot product; the library's embed, `specter2
// embed --normalize`, and serve's /embed (TEI's) and /v1/embeddings (our extension).

/** The unit vector; a zero vector stays zero. */
export function normalized(v: Float32Array): Float32Array {
  let sum = 0;
  for (const x of v) sum += x * x;
  const norm = Math.sqrt(sum) || 1;
  return Float32Array.from(v, (x) => x / norm);
}
