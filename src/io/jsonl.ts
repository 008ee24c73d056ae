// Streaming JSON Lines reader: one line in memory at a time, from a file, a byte range of a file (a
// shard), or any readable stream (stdin). Blank lines are skipped but still counted, so line numbers
// match the file's (for a range: count from the range's first line). Lines end at "\n" (src/io/lines.ts).
import { constants, createReadStream, type ReadStream } from "node:fs";
import { access } from "node:fs/promises";
import { once } from "node:events";
import type { ByteRange, InputDigest } from "./lines";
import { splitLinesBounded, TooLongLine } from "./lines";
import { errnoOrText, Specter2Error } from "../errors";

export const STDIN_SOURCE = "<stdin>";

/**
 * The longest line read, in bytes (its "\n" or "\r\n" not counted): 64 MiB. A longer line is refused as a bad
 * line naming its file and line number, without being decoded, so one runaway line (a file without newlines)
 * cannot exhaust memory or hit V8's string limit (about 512 M UTF-16 units; a line of 64 MiB becomes a string of at
 * most 64 M units). No real record comes near it: a paper's title and abstract are kilobytes, and only the first 512
 * tokens (a few kilobytes of text) are embedded. `specter2 embed --max-line-bytes` sets another limit.
 */
export const DEFAULT_MAX_LINE_BYTES = 64 * 1024 * 1024;
const JSON_WHITESPACE_ONLY = /^[ \t\r]*$/;

/** A parsed line, or the reason it does not parse; lineNumber counts from 1. */
export type JsonlEntry = { lineNumber: number; value: unknown } | { lineNumber: number; error: JsonlError };

/** A line that is not JSON: code BAD_INPUT, with `file` (the source) and `line`. */
export class JsonlError extends Specter2Error {
  constructor(
    readonly source: string,
    readonly lineNumber: number,
    readonly detail: string,
  ) {
    super("BAD_INPUT", `${source}:${lineNumber}: ${detail}`, { file: source, line: lineNumber });
    this.name = "JsonlError";
  }
}

export interface JsonlReadOptions {
  /** Read only the lines of this byte range of the file; it must start and end at line starts
   *  (src/shard/ranges.ts). Line numbers then count from 1 at the range's first line. */
  range?: ByteRange;
  /** Longer lines are bad lines (default DEFAULT_MAX_LINE_BYTES). */
  maxLineBytes?: number;
  /** Fed the bytes of every line read (see InputDigest). */
  digest?: InputDigest;
}

/** Every non-blank line, parsed or with its parse error; for callers that skip bad lines. */
export async function* readJsonlEntries(input: string | NodeJS.ReadableStream, source = sourceName(input), options: JsonlReadOptions = {}): AsyncGenerator<JsonlEntry> {
  const { range, digest } = options;
  const maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  if (range && typeof input !== "string") throw new Specter2Error("BAD_INPUT", `${source}: a byte range can only be read from a file`, { file: source });
  const file = typeof input === "string" ? await openFile(input, range) : null;
  const chunks = typeof input === "string" ? (file ?? []) : input;
  // A byte-order mark can only open the file, not a range that starts further on.
  const atFileStart = range === undefined || range.start === 0;
  let lineNumber = 0;
  try {
    for await (const raw of splitLinesBounded(chunks as AsyncIterable<Buffer | string>, { maxLineBytes, digest })) {
      lineNumber++;
      if (raw instanceof TooLongLine) {
        yield { lineNumber, error: new JsonlError(source, lineNumber, `line of ${raw.bytes} bytes is longer than the limit of ${describeBytes(maxLineBytes)}: not read`) };
        continue;
      }
      const line = lineNumber === 1 && atFileStart ? raw.replace(/^\uFEFF/, "") : raw;
      if (JSON_WHITESPACE_ONLY.test(line)) continue;
      yield parseLine(line, source, lineNumber);
    }
  } finally {
    file?.destroy();
  }
}

/** Every non-blank line, parsed; a malformed line throws a JsonlError naming its source and line. */
export async function* readJsonl(input: string | NodeJS.ReadableStream, source = sourceName(input)): AsyncGenerator<{ lineNumber: number; value: unknown }> {
  for await (const entry of readJsonlEntries(input, source)) {
    if ("error" in entry) throw entry.error;
    yield entry;
  }
}

function parseLine(line: string, source: string, lineNumber: number): JsonlEntry {
  try {
    return { lineNumber, value: JSON.parse(line) };
  } catch (e) {
    return { lineNumber, error: new JsonlError(source, lineNumber, `malformed JSON: ${(e as Error).message}`) };
  }
}

/** "200 bytes", "67108864 bytes (64 MiB)". */
function describeBytes(n: number): string {
  for (const [unit, size] of [
    ["GiB", 2 ** 30],
    ["MiB", 2 ** 20],
    ["KiB", 2 ** 10],
  ] as const)
    if (n >= size) return `${n} bytes (${+(n / size).toFixed(2)} ${unit})`;
  return `${n} bytes`;
}

function sourceName(input: string | NodeJS.ReadableStream): string {
  return typeof input === "string" ? input : STDIN_SOURCE;
}

/** The file (or its range), open; a missing or unreadable file is an error naming it. An empty range
 *  reads nothing but is still checked (Node's streams cannot express an empty range). */
async function openFile(path: string, range?: ByteRange): Promise<ReadStream | null> {
  try {
    if (range && range.end <= range.start) {
      await access(path, constants.R_OK);
      return null;
    }
    const stream = createReadStream(path, range ? { start: range.start, end: range.end - 1 } : {});
    await once(stream, "open");
    return stream;
  } catch (e) {
    throw new Specter2Error("BAD_INPUT", `${path}: cannot read (${errnoOrText(e)})`, { file: path }, { cause: e });
  }
}
