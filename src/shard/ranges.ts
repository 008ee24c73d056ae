// Shard K of N of a file: the byte range [boundary(K), boundary(K+1)), where boundary(k) is the first
// line start at or after ⌊k·size/N⌋. Every shard computes every boundary with the same function, so
// shard k's end is shard k+1's start: the ranges tile the file, and each line (known by its first byte)
// falls in exactly one. A shard reads a few bytes around its two boundaries to align them, then only
// its range. A line longer than size/N leaves a shard empty (both its boundaries move past it).
import { open, type FileHandle } from "node:fs/promises";
import type { ByteRange } from "../io/lines";
import { errnoOrText } from "../errors";

const NEWLINE = 0x0a;

/** ⌊k·size/n⌋, exact for any file size (k·size can pass 2^53). */
export function nominalBoundary(size: number, k: number, n: number): number {
  return Number((BigInt(size) * BigInt(k)) / BigInt(n));
}

/** The first line start at or after `position`: `position` itself if the byte before it is "\n", else
 *  the byte after the next "\n" (the file's size if there is none). */
export async function lineStartAtOrAfter(file: FileHandle, position: number, size: number, bufferBytes = 64 << 10): Promise<number> {
  if (position <= 0) return 0;
  if (position >= size) return size;
  const buffer = Buffer.alloc(bufferBytes);
  for (let at = position - 1; at < size;) {
    const { bytesRead } = await file.read(buffer, 0, Math.min(bufferBytes, size - at), at);
    if (bytesRead === 0) break; // the file shrank under us: treat what is left as one last line
    const nl = buffer.subarray(0, bytesRead).indexOf(NEWLINE);
    if (nl !== -1) return at + nl + 1;
    at += bytesRead;
  }
  return size;
}

export interface ShardRange extends ByteRange {
  /** The file's size when the range was computed. */
  size: number;
}

/** The byte range of shard `index` (0-based) of `count`. */
export async function shardRange(path: string, index: number, count: number, bufferBytes?: number): Promise<ShardRange> {
  checkShard(index, count);
  return withFile(path, async (file, size) => ({
    start: await lineStartAtOrAfter(file, nominalBoundary(size, index, count), size, bufferBytes),
    end: await lineStartAtOrAfter(file, nominalBoundary(size, index + 1, count), size, bufferBytes),
    size,
  }));
}

/** Every shard's range, in order (for merge's check that the parts tile the file). */
export async function shardRanges(path: string, count: number, bufferBytes?: number): Promise<ShardRange[]> {
  checkShard(0, count);
  return withFile(path, async (file, size) => {
    const boundaries: number[] = [];
    for (let k = 0; k <= count; k++) boundaries.push(await lineStartAtOrAfter(file, nominalBoundary(size, k, count), size, bufferBytes));
    return boundaries.slice(0, -1).map((start, k) => ({ start, end: boundaries[k + 1], size }));
  });
}

function checkShard(index: number, count: number): void {
  if (!Number.isSafeInteger(count) || count < 1) throw new Error(`shard count must be a positive integer, got ${count}`);
  if (!Number.isSafeInteger(index) || index < 0 || index >= count) throw new Error(`shard index must be an integer in 0…${count - 1}, got ${index}`);
}

async function withFile<T>(path: string, use: (file: FileHandle, size: number) => Promise<T>): Promise<T> {
  let file: FileHandle;
  try {
    file = await open(path, "r");
  } catch (e) {
    throw new Error(`${path}: cannot read (${errnoOrText(e)})`, { cause: e });
  }
  try {
    const stat = await file.stat();
    if (!stat.isFile()) throw new Error(`${path}: not a regular file; a shard needs a file it can seek in`);
    return await use(file, stat.size);
  } finally {
    await file.close();
  }
}
