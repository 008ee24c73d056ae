// JSONL lines → the items embedRecords takes. A shard reads only its byte range and numbers its lines
// from 1 within it (the numbering --resume records); ids that default to the line number, and messages
// naming a line, use the file's line numbers, which need the count of lines before the range.
// LinesBefore reads that only on first need, so a shard of a corpus whose records carry ids never
// reads outside its range.
import { JsonlError, readJsonlEntries, STDIN_SOURCE } from "../io/jsonl";
import type { ByteRange, InputDigest } from "../io/lines";
import { LinesBefore } from "../io/lines";
import type { InputRecord } from "../io/records";
import { hasOwnId, toInputRecord } from "../io/records";
import type { InputItem } from "./embedRecords";
import { Specter2Error } from "../errors";

/** A line that cannot be embedded; `cause` is the same problem as a BAD_INPUT Specter2Error naming the file and line. */
export type BadInputItem = Extract<InputItem, { error: string }> & { cause: Specter2Error };

function badItem(lineNumber: number, fileLine: number, cause: Specter2Error): BadInputItem {
  return { lineNumber, fileLine, error: cause.message, cause };
}

export interface InputReadOptions {
  /** A longer line is a bad line (default DEFAULT_MAX_LINE_BYTES, src/io/jsonl.ts). */
  maxLineBytes?: number;
  /** Fed every line's bytes, for --resume's record of the input consumed. */
  digest?: InputDigest;
}

/** `input`: a file, or "-" for stdin; `range`: a shard's bytes of the file. */
export async function* inputItems(
  input: string,
  sep: string,
  range?: ByteRange,
  linesBefore = new LinesBefore(input, range?.start ?? 0),
  options: InputReadOptions = {},
): AsyncGenerator<InputItem> {
  const stdin = input === "-";
  const source = stdin ? STDIN_SOURCE : input;
  const fileLine = async (lineNumber: number) => lineNumber + (await linesBefore.count());
  for await (const entry of readJsonlEntries(stdin ? process.stdin : input, source, { range, maxLineBytes: options.maxLineBytes, digest: options.digest })) {
    const { lineNumber } = entry;
    if ("error" in entry) {
      const line = await fileLine(lineNumber);
      yield badItem(lineNumber, line, new JsonlError(source, line, entry.error.detail));
      continue;
    }
    let record: InputRecord | null = null;
    if (hasOwnId(entry.value)) {
      try {
        record = toInputRecord(entry.value, { source, lineNumber }, sep); // the line number is not used
      } catch {
        // invalid: made again below, so that the message names the file's line
      }
    }
    if (record === null) {
      const line = await fileLine(lineNumber);
      try {
        record = toInputRecord(entry.value, { source, lineNumber: line }, sep);
      } catch (e) {
        yield e instanceof Specter2Error ? badItem(lineNumber, line, e) : { lineNumber, fileLine: line, error: (e as Error).message };
        continue;
      }
    }
    yield { lineNumber, id: record.id, text: record.text };
  }
}
