// The parts of a sharded run → one output in input order, written only once checkedParts found them
// complete and consistent: to temporary files, renamed into place. (Checking reads every part once and
// copying once more: simple, and merge is bound by sequential reads anyway.)
import { createReadStream, existsSync, readFileSync, rmSync, statSync } from "node:fs";
import { AtomicFileWriter } from "../io/atomicFile";
import { npyHeader, NPY_HEADER_BYTES } from "../io/npy";
import type { OutputFormat } from "../pipeline/sink";
import { idsPathFor } from "../pipeline/sink";
import type { CheckedPart } from "./checkParts";
import { checkedParts } from "./checkParts";
import type { DoneRecord } from "./parts";

export interface MergeSummary {
  parts: { record: DoneRecord; firstLine: number; lastLine: number }[];
  rows: number;
  skipped: number;
  lines: number;
  output: string;
  /** Where the skipped lines are listed, if any were skipped. */
  errors: string | null;
}

/** Checks every part of `output`'s sharded run and, if all is well, writes `output` atomically. */
export async function mergeParts(output: string, format: OutputFormat): Promise<MergeSummary> {
  return writeMerged(output, format, await checkedParts(output, format));
}

async function writeMerged(output: string, format: OutputFormat, parts: CheckedPart[]): Promise<MergeSummary> {
  const records = parts.map((p) => p.record);
  const rows = records.reduce((n, r) => n + r.rows, 0);
  const skipped = records.reduce((n, r) => n + r.skipped, 0);
  const errorsPath = `${output}.errors.jsonl`;
  const writers: AtomicFileWriter[] = [];
  try {
    // Committed in this order: the skipped lines, the ids, and last the output itself.
    if (skipped > 0) {
      const errors = new AtomicFileWriter(errorsPath);
      writers.push(errors);
      for (const p of parts) if (existsSync(p.paths.errors)) errors.write(uniqueErrorLines(p.paths.errors));
    }
    if (format === "npy") {
      const ids = new AtomicFileWriter(idsPathFor(output));
      writers.push(ids);
      for (const p of parts) await copy(p.paths.ids!, 0, ids);
      const data = new AtomicFileWriter(output);
      writers.push(data);
      data.write(npyHeader(rows, records.find((r) => r.dim !== null)?.dim ?? 0));
      for (const p of parts) await copy(p.paths.data, NPY_HEADER_BYTES, data);
    } else {
      const data = new AtomicFileWriter(output);
      writers.push(data);
      for (const p of parts) await copy(p.paths.data, 0, data);
    }
  } catch (e) {
    writers.forEach((w) => w.abort());
    throw e;
  }
  writers.forEach((w) => w.commit());
  if (skipped === 0) rmSync(errorsPath, { force: true }); // a list from an earlier merge would be wrong now
  let line = 1;
  const summary = parts.map(({ record }) => {
    const firstLine = line;
    line += record.lines.count;
    return { record, firstLine, lastLine: line - 1 };
  });
  return { parts: summary, rows, skipped, lines: line - 1, output, errors: skipped > 0 ? errorsPath : null };
}

/** A part's errors file without the repeats an interrupted and resumed shard can leave. */
function uniqueErrorLines(path: string): string {
  const seen = new Set<string>();
  return readFileSync(path, "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "" && !seen.has(l) && seen.add(l))
    .map((l) => `${l}\n`)
    .join("");
}

async function copy(path: string, from: number, to: AtomicFileWriter): Promise<void> {
  if (statSync(path).size <= from) return;
  for await (const chunk of createReadStream(path, { start: from, highWaterMark: 4 << 20 }) as AsyncIterable<Buffer>) to.write(chunk);
}
