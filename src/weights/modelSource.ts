// Where a model directory's files are read from (src/weights/openModel.ts reads them): a folder in Node, a URL in the
// browser. Its own module, free of tfjs, so that the browser entry's declarations (src/web/fetchSource.ts) reach no
// tfjs types through it.
import type { RangeReader } from "./safetensors";

export interface ModelSource {
  /** The directory or URL as the caller gave it. */
  readonly location: string;
  /** How errors and fields name one of its files (a path or a URL). */
  name(path: string): string;
  /** A file's bytes by its manifest path; MODEL_NOT_FOUND naming it if it is not there. `optional`: null then. */
  read(path: string, optional?: boolean): Promise<Uint8Array | null>;
  /** Hex sha256 of bytes, as the platform computes it (node:crypto, SubtleCrypto). */
  sha256(bytes: Uint8Array): Promise<string>;
  /** Where files can be read at offsets (Node): `use` gets the file open for such reads, closed when it returns. The
   *  weights are then read a tensor at a time instead of whole (not with verify, whose digest needs the whole file). */
  withRanges?<T>(path: string, use: (reader: RangeReader) => T): Promise<T>;
}
