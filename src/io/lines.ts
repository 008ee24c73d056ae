// Lines as JSON Lines defines them: a line ends at "\n"; a "\r" before it is dropped (CRLF files). The
// reader, the counters and the shard boundaries (src/shard/ranges.ts) all split bytes on 0x0A, so they
// agree on what a line is; 0x0A never occurs inside a multi-byte UTF-8 sequence, so every line's bytes
// decode on their own, wherever a read buffer or a byte range happens to end.
import { createReadStream } from "node:fs";

const NEWLINE = 0x0a;
const CR = 0x0d;
const BOM = [0xef, 0xbb, 0xbf];

/** Bytes [start, end) of a file. */
export interface ByteRange {
  start: number;
  end: number;
}

/** The lines of a byte stream, decoded as UTF-8, without their line ending. Text after the last
 *  "\n" is a last line; an empty file has none. A line longer than a chunk is joined from its pieces. */
export async function* splitLines(chunks: AsyncIterable<Buffer | string>): AsyncGenerator<string> {
  let pending: Buffer[] = [];
  for await (const chunk of chunks) {
    const bytes = typeof chunk === "string" ? Buffer.from(chunk, "utf8") : chunk;
    let from = 0;
    for (let nl = bytes.indexOf(NEWLINE, from); nl !== -1; nl = bytes.indexOf(NEWLINE, from)) {
      const piece = bytes.subarray(from, nl);
      yield decodeLine(pending.length > 0 ? Buffer.concat([...pending, piece]) : piece);
      pending = [];
      from = nl + 1;
    }
    if (from < bytes.length) pending.push(bytes.subarray(from));
  }
  if (pending.length > 0) yield decodeLine(Buffer.concat(pending));
}

function decodeLine(bytes: Buffer): string {
  return (bytes.length > 0 && bytes[bytes.length - 1] === CR ? bytes.subarray(0, -1) : bytes).toString("utf8");
}

/** A file's bytes in [start, end), streamed (positional reads: nothing outside the range is read). */
export function readRange(path: string, range: ByteRange, chunkBytes = 1 << 20): AsyncIterable<Buffer> {
  if (range.end <= range.start) return (async function* () {})();
  return createReadStream(path, { start: range.start, end: range.end - 1, highWaterMark: chunkBytes });
}

export interface LineCounts {
  /** Lines that start in the range, blank ones included. */
  lines: number;
  /** Lines with something besides spaces, tabs and CR (a BOM at the file's start counts as nothing): the ones a reader yields. */
  nonBlank: number;
}

/** Counts the lines of a range of a file (which must start and end at line starts), without parsing:
 *  a line is looked at only until its first non-blank byte, then skipped to its "\n" (memchr speed). */
export async function countLinesIn(path: string, range: ByteRange): Promise<LineCounts> {
  const bomEnd = range.start === 0 && (await startsWithBom(path)) ? BOM.length : 0;
  let lines = 0;
  let nonBlank = 0;
  let open = false; // the current line has bytes
  let blank = true; // … and none of them is content so far
  let chunkStart = range.start;
  for await (const chunk of readRange(path, range)) {
    for (let i = 0; i < chunk.length;) {
      if (!blank) {
        const nl = chunk.indexOf(NEWLINE, i);
        if (nl === -1) break;
        lines++;
        nonBlank++;
        open = false;
        blank = true;
        i = nl + 1;
        continue;
      }
      const c = chunk[i];
      if (c === NEWLINE) {
        lines++;
        open = false;
      } else {
        open = true;
        if (chunkStart + i >= bomEnd && c !== 0x20 && c !== 0x09 && c !== CR) blank = false;
      }
      i++;
    }
    chunkStart += chunk.length;
  }
  if (open) {
    lines++;
    if (!blank) nonBlank++;
  }
  return { lines, nonBlank };
}

async function startsWithBom(path: string): Promise<boolean> {
  for await (const head of readRange(path, { start: 0, end: BOM.length })) return head.length === BOM.length && BOM.every((b, i) => head[i] === b);
  return false;
}

/** How many "\n" the file holds before byte `end`: the line number of the line starting at `end`, minus 1. */
export async function countNewlinesBefore(path: string, end: number): Promise<number> {
  let count = 0;
  for await (const chunk of readRange(path, { start: 0, end })) {
    for (let i = chunk.indexOf(NEWLINE); i !== -1; i = chunk.indexOf(NEWLINE, i + 1)) count++;
  }
  return count;
}

/**
 * File line numbers for a reader that starts at byte `start`: the number of lines before it is counted
 * only when first asked for (one sequential read of everything before `start`), so a shard that never
 * needs file line numbers never reads outside its range.
 */
export class LinesBefore {
  private counting: Promise<number> | null = null;
  private value: number | null;

  constructor(
    private readonly path: string,
    private readonly start: number,
  ) {
    this.value = start === 0 ? 0 : null;
  }

  /** The count if it was needed so far (always known for a range at the file's start). */
  get known(): number | null {
    return this.value;
  }

  async count(): Promise<number> {
    if (this.value !== null) return this.value;
    this.counting ??= countNewlinesBefore(this.path, this.start);
    this.value = await this.counting;
    return this.value;
  }
}
