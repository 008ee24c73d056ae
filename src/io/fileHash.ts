// Hashing a whole file, the one way every caller does it: read in fixed-size chunks, so that a checkpoint of any
// size holds one chunk in memory at a time. A model directory's files against its manifest, Hugging Face cache
// blobs against their names, downloads against the Hub's sha256, and sharded parts for their done-records.
import { createHash } from "node:crypto";
import { closeSync, fstatSync, readSync } from "node:fs";
import type { FileDigest } from "../weights/modelDir";
import { IntegrityError } from "../weights/modelDir";
import { openRegularFile } from "./regularFile";

const CHUNK_BYTES = 1 << 20;

/** What the file's bytes are fed to, in order: a node:crypto Hash, or anything else that reads them as they pass
 *  (the chunk's buffer is reused for the next one). */
export interface ChunkSink {
  update(chunk: Buffer): unknown;
}

/**
 * Feeds the file's bytes to every sink and returns how many there were. Only a regular file is read (a link to
 * /dev/zero or a FIFO is refused, BAD_CHECKPOINT), and no further than the size it had when opened. A file that
 * changes size while it is read, or that does not hold `expectedBytes` (the size a caller has already hashed in),
 * is an error naming it.
 */
export function hashFile(path: string, sinks: readonly ChunkSink[], expectedBytes?: number): number {
  const { fd, size } = openRegularFile(path, "BAD_CHECKPOINT");
  try {
    const chunk = Buffer.allocUnsafe(CHUNK_BYTES);
    let bytes = 0;
    for (let n; bytes < size && (n = readSync(fd, chunk, 0, Math.min(CHUNK_BYTES, size - bytes), bytes)) > 0; bytes += n) {
      for (const sink of sinks) sink.update(chunk.subarray(0, n));
    }
    if (bytes !== fstatSync(fd).size || (expectedBytes !== undefined && bytes !== expectedBytes)) {
      throw new IntegrityError(`${path}: changed size while being hashed`, { file: path });
    }
    return bytes;
  } finally {
    closeSync(fd);
  }
}

/** Hex sha256 of a file and its size. */
export function fileDigest(path: string): FileDigest {
  const hash = createHash("sha256");
  const bytes = hashFile(path, [hash]);
  return { sha256: hash.digest("hex"), bytes };
}
