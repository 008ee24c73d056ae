// Lines as JSON Lines defines them: a line ends at "\n"; a "\r" before it is dropped (CRLF files). The
// reader, the counters and the shard boundaries (src/shard/ranges.ts) all split bytes on 0x0A, so they
// agree on what a line is; 0x0A never occurs inside a multi-byte UTF-8 sequence, so every line's bytes
// decode on their own, wherever a read buffer or a byte range happens to end.
import type { Hash } from "node:crypto";
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";

const NEWLINE = 0x0a;
const CR = 0x0d;
const BOM = [0xef, 0xbb, 0xbf];

/** Bytes [start, end) of a file. */
export interface ByteRange {
  start: number;
  end: number;
}

/** A line longer than the reader's limit: never decoded or held, only measured (bytes without its line ending). */
export class TooLongLine {
  constructor(readonly bytes: number) {}
}

export interface SplitOptions {
  /** Lines with more bytes than this (not counting the "\n" or "\r\n") come out as a TooLongLine, without
   *  being joined or decoded: memory stays bounded by the limit whatever the input. Default: no limit. */
  maxLineBytes?: number;
  /** Fed every line's bytes, line ending included, as lines are handed out (for --resume's check). */
  digest?: InputDigest;
}

/** The lines of a byte stream, decoded as UTF-8, without their line ending. Text after the last
 *  "\n" is a last line; an empty file has none. A line longer than a chunk is joined from its pieces. */
export async function* splitLines(chunks: AsyncIterable<Buffer | string>): AsyncGenerator<string> {
  for await (const line of splitLinesBounded(chunks)) if (typeof line === "string") yield line;
}

/** splitLines with a bound on a line's bytes (a longer line is a TooLongLine) and an optional digest of what was read. */
export async function* splitLinesBounded(chunks: AsyncIterable<Buffer | string>, options: SplitOptions = {}): AsyncGenerator<string | TooLongLine> {
  const max = options.maxLineBytes ?? Infinity;
  const digest = options.digest;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let skipped: number | null = null; // bytes so far of the too-long line being skipped; null when none is
  /** The line that ends with `piece` (its "\n" included, `ending` bytes of it: 1, or 0 at the end of input). */
  const finish = (piece: Buffer, ending: number): string | TooLongLine => {
    if (skipped !== null) {
      digest?.more(piece);
      digest?.endLong();
      const line = new TooLongLine(skipped + piece.length - ending);
      skipped = null;
      return line;
    }
    const all = pending.length > 0 ? Buffer.concat([...pending, piece]) : piece;
    pending = [];
    pendingBytes = 0;
    const content = all.subarray(0, all.length - ending);
    if (content.length - (content[content.length - 1] === CR ? 1 : 0) > max) {
      digest?.startLong([all]);
      digest?.endLong();
      return new TooLongLine(content.length);
    }
    digest?.line(all);
    return decodeLine(content);
  };
  for await (const chunk of chunks) {
    const bytes = typeof chunk === "string" ? Buffer.from(chunk, "utf8") : chunk;
    let from = 0;
    for (let nl = bytes.indexOf(NEWLINE, from); nl !== -1; nl = bytes.indexOf(NEWLINE, from)) {
      yield finish(bytes.subarray(from, nl + 1), 1);
      from = nl + 1;
    }
    if (from === bytes.length) continue;
    const rest = bytes.subarray(from);
    if (skipped !== null) {
      digest?.more(rest);
      skipped += rest.length;
    } else if (pendingBytes + rest.length > max + 1) {
      // Too long whatever follows (a final "\r" is not counted): stop keeping it.
      digest?.startLong([...pending, rest]);
      skipped = pendingBytes + rest.length;
      pending = [];
      pendingBytes = 0;
    } else {
      pending.push(rest);
      pendingBytes += rest.length;
    }
  }
  if (skipped !== null || pending.length > 0) yield finish(Buffer.alloc(0), 0);
  digest?.end();
}

function decodeLine(bytes: Buffer): string {
  return (bytes.length > 0 && bytes[bytes.length - 1] === CR ? bytes.subarray(0, -1) : bytes).toString("utf8");
}

/** The first `bytes` bytes of an input (of a shard's range: from its start) and their sha256. */
export interface ConsumedPrefix {
  bytes: number;
  sha256: string;
}

/** What a resumed run expects its input to start with; `mismatch` makes the error to throw if it does not. */
export interface ExpectedPrefix extends ConsumedPrefix {
  mismatch: (detail: string) => Error;
}

/**
 * A running sha256 of the lines a reader hands out (splitLinesBounded feeds it), so that a resumable run can
 * record, at each flush, a digest of exactly the input it has consumed, and a resumed run can check, as its reader
 * passes that point, that the input still starts with the same bytes. It costs one hash update per line (sha256
 * is far faster than parsing the lines) and one copy of the hash state per snapshot. The latest line is kept out of the hash
 * until the next one is handed out, so a snapshot can end either after it or before it (a run stopped by a bad
 * line records the input before that line); a too-long line, never held, is hashed as it streams by, with a copy
 * of the state before it.
 */
export class InputDigest {
  private readonly hash: Hash = createHash("sha256");
  private hashed = 0;
  /** The latest line handed out, not yet in `hash`. */
  private tail: Buffer | null = null;
  /** The state before the latest line, when that was a too-long line hashed as it streamed. */
  private before: { hash: Hash; bytes: number } | null = null;
  /** Lines handed out. */
  private lines = 0;

  constructor(private expected: ExpectedPrefix | null = null) {
    if (expected?.bytes === 0) this.check();
  }

  /** Bytes through the latest line handed out. */
  get bytes(): number {
    return this.hashed + (this.tail?.length ?? 0);
  }

  /** A line, its ending included, handed out. */
  line(bytes: Buffer): void {
    this.commit();
    this.tail = bytes;
    this.lines++;
    this.check();
  }

  /** A too-long line begins with these bytes; more() follows with the rest, endLong() when it is handed out. */
  startLong(pieces: readonly Buffer[]): void {
    this.commit();
    this.before = { hash: this.hash.copy(), bytes: this.hashed };
    for (const p of pieces) this.more(p);
  }

  more(piece: Buffer): void {
    this.hash.update(piece);
    this.hashed += piece.length;
  }

  endLong(): void {
    this.lines++;
    this.check();
  }

  /** The input ended. */
  end(): void {
    if (this.expected) throw this.expected.mismatch(`it now has ${this.bytes} bytes, fewer than the ${this.expected.bytes} the interrupted run had read`);
  }

  /** The prefix through line `line` (counting every line from 1) when that is the latest handed out; for an earlier
   *  line, the prefix before the latest line (the lines between must be blank: a run stopped by a bad line). */
  through(line: number): ConsumedPrefix {
    if (line >= this.lines) return this.state(true);
    if (this.tail !== null) return this.state(false);
    return { bytes: this.before!.bytes, sha256: this.before!.hash.copy().digest("hex") };
  }

  private state(withTail: boolean): ConsumedPrefix {
    const h = this.hash.copy();
    if (withTail && this.tail !== null) h.update(this.tail);
    return { bytes: withTail ? this.bytes : this.hashed, sha256: h.digest("hex") };
  }

  private commit(): void {
    if (this.tail !== null) this.more(this.tail);
    this.tail = null;
    this.before = null;
  }

  private check(): void {
    const expected = this.expected;
    if (expected === null || this.bytes < expected.bytes) return;
    this.expected = null;
    if (this.bytes > expected.bytes) throw expected.mismatch(`no line ends at byte ${expected.bytes} any more, where the interrupted run stopped`);
    const now = this.state(true).sha256;
    if (now !== expected.sha256) throw expected.mismatch(`the sha256 of its first ${expected.bytes} bytes is ${now}, it was ${expected.sha256}`);
  }
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
