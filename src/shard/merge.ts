// The parts of a sharded run → one output in input order. First checkedParts proves they add up to the whole input:
// every part done, its files' checksums and row counts as its done-record says, the byte ranges tiling the input
// with no gap or overlap, one input, model and adapter; a problem is reported by part number with the command that
// redoes the part. Only then is the output written, to temporary files renamed into place (through a symlink: its
// target is replaced, the link stays), under the output's lock. (Checking reads every part once and copying once
// more: simple, and merge is bound by sequential reads anyway.)
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, statSync, createReadStream, rmSync } from "node:fs";
import { join } from "node:path";
import { Specter2Error } from "../errors";
import { NPY_HEADER_BYTES, parseNpyHeader, npyHeader } from "../io/npy";
import type { OutputFormat } from "../pipeline/sink";
import { shellQuote, scriptDir } from "../slurm/submit";
import type { DoneRecord, EmbedSettings, PartPaths } from "./parts";
import { digestFile, PART_FILE, partPaths, partsDir, readDoneRecord } from "./parts";
import { shardRanges } from "./ranges";
import { AtomicFileWriter } from "../io/atomicFile";
import { OutputLock } from "../io/outputLock";
import { writeTarget } from "../io/writeTarget";
import { errorsPathFor, idsPathFor } from "../pipeline/sink";

/** What is wrong with shard `index`; `stale`: its files must be deleted before rerunning it. */
export interface PartProblem {
  index: number;
  problem: string;
  stale: boolean;
}

export class MergeError extends Specter2Error {
  constructor(
    message: string,
    readonly problems: PartProblem[] = [],
  ) {
    super("OUTPUT_ERROR", message);
    this.name = "MergeError";
  }
}

export interface CheckedPart {
  record: DoneRecord;
  paths: PartPaths;
}

/** The parts of `output`'s sharded run, all checked; a MergeError listing every problem otherwise. */
export async function checkedParts(output: string, format: OutputFormat): Promise<CheckedPart[]> {
  const count = shardCountOf(output);
  const { parts, problems, general } = await checkParts(output, format, count);
  if (problems.length > 0 || general.length > 0) throw new MergeError(describeProblems(output, format, count, parts, problems, [...new Set(general)]), problems);
  return parts;
}

/** N, from the names in FILE.parts/ (one N only: parts of two runs with different N are not mixed). */
function shardCountOf(output: string): number {
  const dir = partsDir(output);
  if (!existsSync(dir)) throw new MergeError(`${dir}: not found, nothing to merge; run \`specter2 embed … --output ${output} --shard K/N\` for K = 0…N-1 first`);
  const counts = new Map<number, number>();
  for (const name of readdirSync(dir)) {
    const m = PART_FILE.exec(name);
    if (m) counts.set(Number(m[2]), (counts.get(Number(m[2])) ?? 0) + 1);
  }
  if (counts.size === 0) throw new MergeError(`${dir}: no parts in it, nothing to merge`);
  if (counts.size > 1) {
    const list = [...counts].map(([n, files]) => `${n} (${files} files)`).join(", ");
    throw new MergeError(`${dir}: parts of runs with different shard counts: ${list}; delete the files of the runs you do not want (K-of-N.*)`);
  }
  return [...counts.keys()][0];
}

async function checkParts(output: string, format: OutputFormat, count: number): Promise<{ parts: CheckedPart[]; problems: PartProblem[]; general: string[] }> {
  const problems: PartProblem[] = [];
  const general: string[] = [];
  const parts: CheckedPart[] = [];
  for (let index = 0; index < count; index++) {
    const paths = partPaths(output, format, { index, count });
    const problem = (text: string, stale = true) => problems.push({ index, problem: text, stale });
    if (!existsSync(paths.done)) {
      problem(notDone(paths), false);
      continue;
    }
    let record: DoneRecord;
    try {
      record = readDoneRecord(paths.done);
    } catch (e) {
      problem((e as Error).message);
      continue;
    }
    if (record.shard.index !== index || record.shard.count !== count) {
      problem(`${paths.done} is the record of shard ${record.shard.index}/${record.shard.count}`);
      continue;
    }
    if (record.format !== format) {
      general.push(`the parts are ${record.format} (${paths.done}); merge them with --format ${record.format}`);
      continue;
    }
    const fileProblems = await checkPartFiles(record, paths);
    fileProblems.forEach((p) => problem(p));
    if (fileProblems.length === 0) parts.push({ record, paths });
  }
  if (parts.length > 0) general.push(...(await checkAgreement(parts, count)));
  return { parts, problems, general };
}

function notDone(paths: PartPaths): string {
  const progress = `${paths.data}.progress.json`;
  if (existsSync(progress)) {
    let rows = "some";
    try {
      rows = String((JSON.parse(readFileSync(progress, "utf8")) as { rows: number }).rows);
    } catch {
      /* the count is only informative */
    }
    return `interrupted: ${rows} embeddings in ${paths.data}.partial, no done-record (resume it)`;
  }
  if (existsSync(paths.data)) return `${paths.data} exists but has no done-record (the shard stopped before recording it)`;
  return "not run, or stopped before its first embeddings (no done-record)";
}

/** The part's files against its done-record: sizes, checksums, rows. */
async function checkPartFiles(record: DoneRecord, paths: PartPaths): Promise<string[]> {
  const out: string[] = [];
  if (record.rows + record.skipped !== record.lines.nonBlank) {
    out.push(`${paths.done}: ${record.rows} embeddings + ${record.skipped} skipped ≠ ${record.lines.nonBlank} input lines`);
  }
  if (!existsSync(paths.data)) return [...out, `${paths.data} is missing`];
  const data = await digestFile(paths.data);
  if (data.bytes !== record.bytes.data || data.sha256 !== record.sha256.data) {
    return [
      ...out,
      `${paths.data}: checksum mismatch (${data.bytes} bytes, sha256 ${data.sha256.slice(0, 12)}…; the done-record says ${record.bytes.data} bytes, ${record.sha256.data.slice(0, 12)}…): corrupted or changed after it finished`,
    ];
  }
  if (record.format === "jsonl") {
    if (data.newlines !== record.rows) out.push(`${paths.data}: ${data.newlines} rows, the done-record says ${record.rows}`);
  } else {
    const head = Buffer.alloc(Math.min(NPY_HEADER_BYTES, data.bytes));
    const { rows, cols, dataOffset } = parseNpyHeader(head.subarray(0, readHead(paths.data, head)), paths.data);
    if (rows !== record.rows || (rows > 0 && cols !== record.dim) || data.bytes !== dataOffset + rows * cols * 4) {
      out.push(`${paths.data}: shape (${rows}, ${cols}) in ${data.bytes} bytes does not match the done-record's ${record.rows} rows of ${record.dim}`);
    }
    if (paths.ids === null || !existsSync(paths.ids)) return [...out, `${paths.ids} is missing`];
    const ids = await digestFile(paths.ids);
    if (ids.bytes !== record.bytes.ids || ids.sha256 !== record.sha256.ids) out.push(`${paths.ids}: checksum mismatch: corrupted or changed after the shard finished`);
    else if (ids.newlines !== record.rows) out.push(`${paths.ids}: ${ids.newlines} ids for ${record.rows} rows`);
  }
  return out;
}

function readHead(path: string, into: Buffer): number {
  const fd = openSync(path, "r");
  try {
    return readSync(fd, into, 0, into.length, 0);
  } finally {
    closeSync(fd);
  }
}

/** Across the parts that are fine on their own: one input, tiled exactly; one model and settings; line numbers that add up. */
async function checkAgreement(parts: CheckedPart[], count: number): Promise<string[]> {
  const out: string[] = [];
  const first = parts[0].record;
  const same = (key: keyof EmbedSettings) => {
    const values = new Set(parts.map((p) => JSON.stringify(p.record.embed[key])));
    if (values.size > 1) out.push(`the parts were embedded with different ${key}: ${parts.map((p) => `${p.record.shard.index}: ${JSON.stringify(p.record.embed[key])}`).join(", ")}`);
  };
  (["input", "model", "adapter", "maxLength"] as const).forEach(same);
  const dims = new Set(parts.map((p) => p.record.dim).filter((d) => d !== null));
  if (dims.size > 1) out.push(`the parts hold vectors of different sizes: ${[...dims].join(", ")}`);
  const sizes = new Set(parts.map((p) => p.record.inputSize));
  if (sizes.size > 1) out.push(`the parts were made from inputs of different sizes: ${[...sizes].join(", ")} bytes`);

  // Tiling: part k starts where part k-1 ends; the first at 0, the last at the input's end.
  const byIndex = new Map(parts.map((p) => [p.record.shard.index, p.record]));
  const r0 = byIndex.get(0);
  if (r0 && r0.range.start !== 0) out.push(`part 0 starts at byte ${r0.range.start}, not at the input's start`);
  const last = byIndex.get(count - 1);
  if (last && last.range.end !== last.inputSize) out.push(`part ${count - 1} ends at byte ${last.range.end}, not at the input's end (${last.inputSize})`);
  for (let k = 1; k < count; k++) {
    const a = byIndex.get(k - 1);
    const b = byIndex.get(k);
    if (a && b && a.range.end !== b.range.start) {
      out.push(`${a.range.end < b.range.start ? "gap" : "overlap"} between part ${k - 1} (ends at byte ${a.range.end}) and part ${k} (starts at byte ${b.range.start})`);
    }
  }
  // File line numbers: part k's first line is 1 + the lines of the parts before it.
  if (byIndex.size === count) {
    let next = 1;
    for (let k = 0; k < count; k++) {
      const r = byIndex.get(k)!;
      if (r.lines.first !== null && r.lines.first !== next) out.push(`part ${k} says its first line is ${r.lines.first}, the parts before it end at line ${next - 1}`);
      next += r.lines.count;
    }
  }
  // The input as it is now: same size, same shard boundaries (else it changed since the shards ran).
  const input = first.embed.input;
  if (!existsSync(input)) {
    out.push(`${input}: the input is gone, so the parts cannot be checked against it`);
  } else if (statSync(input).size !== first.inputSize) {
    out.push(`${input} is now ${statSync(input).size} bytes; the parts were made from ${first.inputSize} bytes: it changed since`);
  } else {
    const ranges = await shardRanges(input, count);
    for (const [k, r] of byIndex) {
      if (ranges[k].start !== r.range.start || ranges[k].end !== r.range.end)
        out.push(`part ${k} covers bytes ${r.range.start}–${r.range.end}, shard ${k} of ${input} is now ${ranges[k].start}–${ranges[k].end}`);
    }
  }
  return out;
}

function describeProblems(output: string, format: OutputFormat, count: number, parts: CheckedPart[], problems: PartProblem[], general: string[]): string {
  const lines = [`cannot merge ${output}: nothing was written.`];
  for (const p of problems) lines.push(`  part ${p.index}/${count}: ${p.problem}`);
  for (const g of general) lines.push(`  ${g}`);
  const redo = [...new Map(problems.map((p) => [p.index, p])).values()];
  if (redo.length > 0) {
    const settings = parts[0]?.record.embed;
    lines.push(`redo ${redo.length === 1 ? "it" : "them"}${settings ? "" : " (with the options the other shards had)"}:`);
    for (const p of redo) {
      const clear = p.stale ? `rm -f ${shellQuote(`${partPaths(output, format, { index: p.index, count }).done.replace(/\.done\.json$/, ".")}`)}* && ` : "";
      lines.push(`  ${clear}${rerunCommand(output, format, { index: p.index, count }, settings)}`);
    }
    const sbatch = join(scriptDir(output), "embed.sbatch");
    if (existsSync(sbatch)) {
      lines.push(
        `or on Slurm (after any rm above): sbatch --array=${redo.map((p) => p.index).join(",")} ${shellQuote(sbatch)}, then sbatch ${shellQuote(join(scriptDir(output), "merge.sbatch"))}`,
      );
    }
    lines.push(`then: specter2 merge --output ${shellQuote(output)} --format ${format}`);
  }
  return lines.join("\n");
}

function rerunCommand(output: string, format: OutputFormat, shard: { index: number; count: number }, s: EmbedSettings | undefined): string {
  const args = ["specter2", "embed"];
  if (s) {
    args.push("--model", s.model, "--input", s.input, "--adapter", s.adapter ?? "none", ...s.options);
  } else {
    args.push("--model", "MODEL", "--input", "INPUT");
  }
  args.push("--output", output, "--format", format, "--shard", `${shard.index}/${shard.count}`, "--resume");
  return args.map(shellQuote).join(" ");
}

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
  const target = writeTarget(output);
  if (target.kind === "stream") {
    throw new MergeError(`--output ${output} is ${target.what}: merge writes a whole file and renames it into place; name a regular file (or one not there yet)`);
  }
  const lock = OutputLock.acquire(target.path);
  try {
    return await writeMerged(target.path, format, await checkedParts(output, format));
  } finally {
    lock.release();
  }
}

async function writeMerged(output: string, format: OutputFormat, parts: CheckedPart[]): Promise<MergeSummary> {
  const records = parts.map((p) => p.record);
  const rows = records.reduce((n, r) => n + r.rows, 0);
  const skipped = records.reduce((n, r) => n + r.skipped, 0);
  const errorsPath = errorsPathFor(output);
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

/** A part's errors file without repeats (which a part written before the list was kept with its progress record
 *  can hold: an interrupted and resumed shard listed again the lines it had skipped after its last flush). */
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
