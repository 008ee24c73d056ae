// Streaming JSON Lines reader: one line in memory at a time, from a file or any readable stream
// (stdin). Blank lines are skipped but still counted, so line numbers match the file's.
import { createReadStream, type ReadStream } from "node:fs";
import { once } from "node:events";
import { createInterface } from "node:readline";

export const STDIN_SOURCE = "<stdin>";
const JSON_WHITESPACE_ONLY = /^[ \t\r]*$/;

/** A parsed line, or the reason it does not parse; lineNumber counts from 1. */
export type JsonlEntry = { lineNumber: number; value: unknown } | { lineNumber: number; error: JsonlError };

export class JsonlError extends Error {
  constructor(readonly source: string, readonly lineNumber: number, detail: string) {
    super(`${source}:${lineNumber}: ${detail}`);
    this.name = "JsonlError";
  }
}

/** Every non-blank line, parsed or with its parse error; for callers that skip bad lines. */
export async function* readJsonlEntries(input: string | NodeJS.ReadableStream, source = sourceName(input)): AsyncGenerator<JsonlEntry> {
  const file = typeof input === "string" ? await openFile(input) : undefined;
  const lines = createInterface({ input: file ?? (input as NodeJS.ReadableStream), crlfDelay: Infinity });
  let lineNumber = 0;
  try {
    for await (const raw of lines) {
      lineNumber++;
      const line = lineNumber === 1 ? raw.replace(/^\uFEFF/, "") : raw;
      if (JSON_WHITESPACE_ONLY.test(line)) continue;
      yield parseLine(line, source, lineNumber);
    }
  } finally {
    lines.close();
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

function sourceName(input: string | NodeJS.ReadableStream): string {
  return typeof input === "string" ? input : STDIN_SOURCE;
}

async function openFile(path: string): Promise<ReadStream> {
  const stream = createReadStream(path);
  try {
    await once(stream, "open");
  } catch (e) {
    throw new Error(`${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? e})`);
  }
  return stream;
}
