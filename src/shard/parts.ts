// Where shard K of N of `--output FILE` goes (FILE.parts/K-of-N.jsonl, or .npy + .ids.jsonl), and the
// done-record written beside it once the part is complete: what it covers (byte range, lines), what it
// holds (rows, skips) and its checksum, so that merge can prove the parts add up to the whole input.
import { createHash } from "node:crypto";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../io/atomicFile";
import { hashFile } from "../io/fileHash";
import type { ByteRange } from "../io/lines";
import type { OutputFormat } from "../pipeline/sink";
import { errorsPathFor, idsPathFor } from "../pipeline/sink";
import type { Shard } from "./ranges";
import type { FileDigest } from "../weights/modelDir";

export function partsDir(output: string): string {
  return `${output}.parts`;
}

export interface PartPaths {
  data: string;
  /** The row ids of an .npy part. */
  ids: string | null;
  done: string;
  /** Lines skipped with --on-error skip. */
  errors: string;
}

export function partPaths(output: string, format: OutputFormat, shard: Shard): PartPaths {
  const base = join(partsDir(output), `${shard.index}-of-${shard.count}`);
  const data = `${base}.${format}`;
  return { data, ids: format === "npy" ? idsPathFor(data) : null, done: `${base}.done.json`, errors: errorsPathFor(data) };
}

/** File names in FILE.parts/ that belong to shard K of N. */
export const PART_FILE = /^(\d+)-of-(\d+)\./;

/** How a part was embedded; every part of one output must agree (merge checks). */
export interface EmbedSettings {
  /** Absolute paths, so a rerun command works from anywhere. */
  model: string;
  input: string;
  adapter: string | null;
  /** null: the model's default. */
  maxLength: number | null;
  /** The other `specter2 embed` flags the shard ran with (src/pipeline/embedOptions.ts's EMBED_TASK_OPTIONS), for a rerun. */
  options: string[];
}

export interface DoneRecord {
  version: 1;
  shard: Shard;
  /** The input file's size when the shard ran; its range depends on it. */
  inputSize: number;
  range: ByteRange;
  lines: {
    /** Lines starting in the range, blank ones included. */
    count: number;
    nonBlank: number;
    /** File line numbers of the range's first and last line, when the shard needed them (a record
     *  without an id, or a bad line); null otherwise, because working them out reads the whole file
     *  before the range. Merge derives them from the counts of the parts before. */
    first: number | null;
    last: number | null;
  };
  rows: number;
  skipped: number;
  format: OutputFormat;
  /** Values per row; null for an empty part. */
  dim: number | null;
  bytes: { data: number; ids: number | null };
  sha256: { data: string; ids: string | null };
  embed: EmbedSettings;
  finishedAt: string;
}

export interface PartDigest extends FileDigest {
  /** "\n" bytes: the rows of a JSONL part or ids file. */
  newlines: number;
}

/** One pass over a file: its sha256, size and line endings. */
export async function digestFile(path: string): Promise<PartDigest> {
  const hash = createHash("sha256");
  let newlines = 0;
  const countNewlines = (chunk: Buffer) => {
    for (let i = chunk.indexOf(0x0a); i !== -1; i = chunk.indexOf(0x0a, i + 1)) newlines++;
  };
  const bytes = hashFile(path, [hash, { update: countNewlines }]);
  return { sha256: hash.digest("hex"), bytes, newlines };
}

export function writeDoneRecord(path: string, record: DoneRecord): void {
  writeFileAtomic(path, `${JSON.stringify(record, null, 2)}\n`);
}

/** The done-record, checked field by field; an unreadable one is an error naming the file. */
export function readDoneRecord(path: string): DoneRecord {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new Error(`${path}: unreadable done-record (${(e as Error).message})`, { cause: e });
  }
  const r = value as DoneRecord;
  const int = (x: unknown) => Number.isSafeInteger(x) && (x as number) >= 0;
  const intOrNull = (x: unknown) => x === null || int(x);
  const hex = (x: unknown) => typeof x === "string" && /^[0-9a-f]{64}$/.test(x);
  const ok =
    typeof r === "object" &&
    r !== null &&
    r.version === 1 &&
    typeof r.shard === "object" &&
    r.shard !== null &&
    int(r.shard.index) &&
    int(r.shard.count) &&
    int(r.inputSize) &&
    typeof r.range === "object" &&
    r.range !== null &&
    int(r.range.start) &&
    int(r.range.end) &&
    typeof r.lines === "object" &&
    r.lines !== null &&
    int(r.lines.count) &&
    int(r.lines.nonBlank) &&
    intOrNull(r.lines.first) &&
    intOrNull(r.lines.last) &&
    int(r.rows) &&
    int(r.skipped) &&
    (r.format === "jsonl" || r.format === "npy") &&
    intOrNull(r.dim) &&
    typeof r.bytes === "object" &&
    r.bytes !== null &&
    int(r.bytes.data) &&
    intOrNull(r.bytes.ids) &&
    typeof r.sha256 === "object" &&
    r.sha256 !== null &&
    hex(r.sha256.data) &&
    (r.sha256.ids === null || hex(r.sha256.ids)) &&
    typeof r.embed === "object" &&
    r.embed !== null &&
    typeof r.embed.model === "string" &&
    typeof r.embed.input === "string" &&
    Array.isArray(r.embed.options) &&
    r.embed.options.every((o) => typeof o === "string");
  if (!ok) throw new Error(`${path}: not a done-record of this version (fields missing or of the wrong type)`);
  return r;
}

/**
 * For a rerun of a shard: its done-record if the part is complete for this input and format (sizes
 * checked, the cheap test; merge checks the checksums), null if it never finished. A done-record for
 * another input or format is an error: silently keeping or redoing either would be wrong.
 */
export function finishedPart(paths: PartPaths, expected: { inputSize: number; range: ByteRange; format: OutputFormat }): DoneRecord | null {
  if (!existsSync(paths.done)) return null;
  const record = readDoneRecord(paths.done);
  const redo = `delete ${paths.done.replace(/\.done\.json$/, ".*")} to embed it again`;
  if (record.format !== expected.format) throw new Error(`${paths.done}: this shard was done as ${record.format}, this run asks for ${expected.format}; ${redo}`);
  if (record.inputSize !== expected.inputSize || record.range.start !== expected.range.start || record.range.end !== expected.range.end) {
    throw new Error(
      `${paths.done}: this shard was done for bytes ${record.range.start}–${record.range.end} of a ${record.inputSize}-byte input; the input is now ${expected.inputSize} bytes (range ${expected.range.start}–${expected.range.end}); ${redo}`,
    );
  }
  const sizeOf = (path: string) => (existsSync(path) ? statSync(path).size : null);
  if (sizeOf(paths.data) !== record.bytes.data || (paths.ids !== null && sizeOf(paths.ids) !== record.bytes.ids)) {
    throw new Error(`${paths.done}: the part it records is missing or has another size; ${redo}`);
  }
  return record;
}
