// Embedding outputs that survive interruption. Rows are appended to `<out>.partial` and flushed, and the lines
// skipped since the last flush to `<out>.errors.jsonl`; after each flush `<out>.progress.json` records how many bytes
// of each and input lines are done, what made them (model, adapter, max length: RunRecord) and a digest of the input
// consumed, which a resume must match. The final file appears (by rename) only when the run completes, so a reader
// never sees a half-written one; `--resume` truncates the partial file and the list of skipped lines to the last
// recorded progress and carries on from there, so a line is never listed twice; a fresh run starts a fresh list.
// Every write that fails (a full disk, a quota, a size limit) is an OUTPUT_ERROR naming its file.
import { closeSync, existsSync, fstatSync, ftruncateSync, openSync, readFileSync, renameSync, rmSync, statSync } from "node:fs";
import { writeFileAtomic } from "../io/atomicFile";
import { closeFully, outputError, syncFully, writeFully } from "../io/fileWrites";
import type { ConsumedPrefix } from "../io/lines";
import { npyHeader } from "../io/npy";
import { Specter2Error } from "../errors";

export type OutputFormat = "jsonl" | "npy";
export type RecordId = string | number;

export interface EmbeddedRow {
  id: RecordId;
  embedding: Float32Array;
}

/** Where embedRecords puts rows and skipped lines: files that a resume continues (EmbeddingSink), or a stream written
 *  as it goes (StreamSink, src/pipeline/streamSink.ts). */
export interface RowSink {
  /** Rows written, those of an interrupted run resumed included. */
  readonly rowsWritten: number;
  /** Values per row, once a row was written. */
  readonly dim: number | null;
  /** Input lines up to this one were handled by an earlier, interrupted run. */
  readonly resumedAfterLine: number;
  /** Appends rows (in input order); input up to `lastLine` is then done (`input`: its bytes and their sha256). */
  write(rows: readonly EmbeddedRow[], lastLine: number, input?: ConsumedPrefix): void;
  /** Records a line passed over (--on-error skip), by its line number in the file; written with the next rows. */
  skip(line: number, error: string): void;
  /** Completes the output. */
  finish(): void;
  /** Stops without completing it. */
  close(): void;
}

/** One JSON object per row, as the JSONL output holds them. */
export function jsonlRows(rows: readonly EmbeddedRow[]): Buffer {
  return Buffer.from(rows.map((r) => `${JSON.stringify({ paper_id: r.id, embedding: Array.from(r.embedding) })}\n`).join(""), "utf8");
}

/** Bumped when the progress record changes meaning; a resume refuses records of other versions. */
const PROGRESS_VERSION = 2;

/**
 * What made a partial output, kept in its progress record: a resume must be made the same way, or it would mix
 * rows of two models, two adapters or two truncations in one file.
 */
export interface RunRecord {
  /** The model directory (absolute) and the sha256 of its manifest.json, which lists every file's sha256. */
  model: { dir: string; manifestSha256: string };
  /** As resolved (the model's default filled in); null: the bare base. */
  adapter: string | null;
  /** Tokens per input, as resolved (the default filled in). */
  maxLength: number;
  /** Unit-length rows (absent in records of runs from before it was an option: false). */
  normalize?: boolean;
  /** Values per row. */
  hiddenSize: number;
  /** The input when the run started: its path ("-": stdin) and size (null for stdin). */
  input: { path: string; size: number | null };
}

interface Progress {
  version: typeof PROGRESS_VERSION;
  format: OutputFormat;
  rows: number;
  /** Input line number of the last record handled (embedded or skipped). */
  lastLine: number;
  dataBytes: number;
  idsBytes: number;
  /** Bytes of `<out>.errors.jsonl` that list lines up to lastLine (absent in records written before it was kept:
   *  the list is then continued as it is). */
  errorsBytes?: number;
  /** Values per row, known from the first row written. */
  dim: number | null;
  /** What the run read (e.g. a shard's byte range of an input of some size): a resume must read the same. */
  source?: string;
  run?: RunRecord;
  /** The input consumed through lastLine (for a shard: from its range's start), which a resume checks is unchanged. */
  input?: ConsumedPrefix;
}

/** Lines skipped with --on-error skip, beside the output. */
export function errorsPathFor(output: string): string {
  return `${output}.errors.jsonl`;
}

/** For `x.npy` the ids go to `x.ids.jsonl` (one JSON value per line, row order). */
export function idsPathFor(output: string): string {
  return output.replace(/\.npy$/, "") + ".ids.jsonl";
}

/** Every file an EmbeddingSink of `output` writes (the output, its partial and progress files, the list of skipped
 *  lines, and for .npy the ids file and its partial), each with what it is, for refusing an input among them
 *  (src/pipeline/outputPaths.ts). */
export function sinkFiles(output: string, format: OutputFormat): { path: string; what: string }[] {
  const files = [
    { path: output, what: "the output" },
    { path: `${output}.partial`, what: "the output's partial file" },
    { path: `${output}.progress.json`, what: "the output's progress record" },
    { path: errorsPathFor(output), what: "the output's list of skipped lines" },
  ];
  if (format === "npy") {
    const ids = idsPathFor(output);
    files.push({ path: ids, what: "the output's ids file" }, { path: `${ids}.partial`, what: "the ids file's partial file" });
  }
  return files;
}

/** An append-only file that can be cut back to a recorded length. */
class AppendFile {
  private readonly fd: number;
  private closed = false;

  constructor(
    readonly path: string,
    keepBytes: number | null,
  ) {
    try {
      this.fd = openSync(path, keepBytes === null ? "w" : "r+");
    } catch (e) {
      throw outputError(e, path, keepBytes === null ? "create" : "open");
    }
    if (keepBytes !== null) {
      const size = fstatSync(this.fd).size;
      if (size < keepBytes) {
        closeSync(this.fd);
        throw new Specter2Error("OUTPUT_ERROR", `${path}: ${size} bytes, but the progress record says ${keepBytes} were written: cannot resume; delete it and start again`, { file: path });
      }
      try {
        ftruncateSync(this.fd, keepBytes);
      } catch (e) {
        closeSync(this.fd);
        throw outputError(e, path, "truncate");
      }
    }
  }

  get size(): number {
    return fstatSync(this.fd).size;
  }

  append(bytes: Uint8Array): void {
    writeFully(this.fd, bytes, this.path, this.size);
  }

  writeAt(bytes: Uint8Array, position: number): void {
    writeFully(this.fd, bytes, this.path, position);
  }

  flush(): void {
    syncFully(this.fd, this.path);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    closeFully(this.fd, this.path);
  }
}

export class EmbeddingSink implements RowSink {
  private readonly data: AppendFile;
  private readonly ids: AppendFile | null;
  /** The list of skipped lines, opened when the first one is written. */
  private errors: AppendFile | null = null;
  /** Skipped lines not written yet: they go with the next rows, under the same progress record. */
  private pendingErrors: string[] = [];
  private progress: Progress;
  private readonly resumed: ConsumedPrefix | null;

  private constructor(
    readonly output: string,
    readonly format: OutputFormat,
    resume: boolean,
    source: string | undefined,
    run: RunRecord | undefined,
  ) {
    const progressPath = `${output}.progress.json`;
    const partial = `${output}.partial`;
    const saved = resume && existsSync(progressPath) ? readProgress(progressPath, format, source, run) : null;
    if (!resume && existsSync(partial)) {
      throw new Specter2Error("OUTPUT_ERROR", `${partial} is left from an interrupted run: pass --resume to continue it, or delete it to start again`, { file: partial });
    }
    this.resumed = saved?.input ?? null;
    this.progress = saved ?? { version: PROGRESS_VERSION, format, rows: 0, lastLine: 0, dataBytes: 0, idsBytes: 0, dim: null, source, run };
    this.data = new AppendFile(partial, saved ? saved.dataBytes : null);
    this.ids = format === "npy" ? new AppendFile(`${idsPathFor(output)}.partial`, saved ? saved.idsBytes : null) : null;
    if (format === "npy" && !saved) {
      this.data.append(npyHeader(0, 0)); // placeholder, rewritten by finish()
      this.progress.dataBytes = this.data.size;
    }
    // The list of skipped lines as the progress record has it: cut back to it on a resume, begun anew on a fresh run
    // (a list left by an earlier run would count its lines again).
    const errorsPath = errorsPathFor(output);
    const keepErrors = saved ? (saved.errorsBytes ?? sizeOrZero(errorsPath)) : 0;
    if (keepErrors > 0) this.errors = new AppendFile(errorsPath, keepErrors);
    else rmOutput(errorsPath);
  }

  /** Opens the output; with `resume`, continues an interrupted run of the same output. `source`
   *  describes the input (for a shard: its byte range and the file's size) and `run` what computes the rows; a
   *  resume must match both (each difference is named), and its reader must check `resumedInput`. */
  static open(output: string, format: OutputFormat, resume: boolean, source?: string, run?: RunRecord): EmbeddingSink {
    return new EmbeddingSink(output, format, resume, source, run);
  }

  /** For a resumed run: the input the interrupted one consumed (its first bytes and their sha256), which must be
   *  unchanged; null if nothing is resumed. */
  get resumedInput(): ConsumedPrefix | null {
    return this.resumed;
  }

  /** Values per row, once a row was written. */
  get dim(): number | null {
    return this.progress.dim;
  }

  /** Input lines up to this one were handled by an earlier, interrupted run. */
  get resumedAfterLine(): number {
    return this.progress.lastLine;
  }

  get rowsWritten(): number {
    return this.progress.rows;
  }

  skip(line: number, error: string): void {
    this.pendingErrors.push(`${JSON.stringify({ line, error })}\n`);
  }

  /** Appends rows (in input order) and the lines skipped since the last write, and records that input up to `lastLine`
   *  is done; `input`: that input's bytes and their sha256, for a resume's check. */
  write(rows: readonly EmbeddedRow[], lastLine: number, input?: ConsumedPrefix): void {
    if (this.format === "jsonl") {
      if (rows.length > 0) this.progress.dim ??= rows[0].embedding.length;
      this.data.append(jsonlRows(rows));
    } else if (rows.length > 0) {
      const dim = (this.progress.dim ??= rows[0].embedding.length);
      const block = new Float32Array(rows.length * dim);
      rows.forEach((r, i) => {
        if (r.embedding.length !== dim) {
          throw new Specter2Error("OUTPUT_ERROR", `embedding of ${r.id} has ${r.embedding.length} values, the file holds rows of ${dim}`, { file: this.data.path });
        }
        block.set(r.embedding, i * dim);
      });
      this.data.append(new Uint8Array(block.buffer));
      this.ids!.append(Buffer.from(rows.map((r) => `${JSON.stringify(r.id)}\n`).join(""), "utf8"));
      this.ids!.flush();
    }
    this.data.flush();
    this.writeErrors();
    this.progress = {
      ...this.progress,
      rows: this.progress.rows + rows.length,
      lastLine,
      input,
      dataBytes: this.data.size,
      idsBytes: this.ids?.size ?? 0,
      errorsBytes: this.errors?.size ?? 0,
    };
    writeFileAtomic(`${this.output}.progress.json`, JSON.stringify(this.progress));
  }

  private writeErrors(): void {
    if (this.pendingErrors.length === 0) return;
    this.errors ??= new AppendFile(errorsPathFor(this.output), null);
    this.errors.append(Buffer.from(this.pendingErrors.join(""), "utf8"));
    this.errors.flush();
    this.pendingErrors = [];
  }

  /** Publishes the complete output under its final name(s) and removes the bookkeeping files. */
  finish(): void {
    try {
      this.writeErrors();
      if (this.format === "npy") {
        this.data.writeAt(npyHeader(this.progress.rows, this.progress.dim ?? 0), 0);
        this.data.flush();
      }
    } finally {
      this.close();
    }
    if (this.ids) publish(this.ids.path, idsPathFor(this.output));
    publish(this.data.path, this.output);
    rmOutput(`${this.output}.progress.json`);
  }

  /** Stops without publishing: what was written stays for --resume. */
  close(): void {
    this.data.close();
    this.ids?.close();
    this.errors?.close();
  }
}

function publish(partial: string, output: string): void {
  try {
    renameSync(partial, output);
  } catch (e) {
    throw outputError(e, output, `rename ${partial} to`);
  }
}

function rmOutput(path: string): void {
  try {
    rmSync(path, { force: true });
  } catch (e) {
    throw outputError(e, path, "remove");
  }
}

function sizeOrZero(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

function readProgress(path: string, format: OutputFormat, source: string | undefined, run: RunRecord | undefined): Progress {
  const restart = `delete its .partial and .progress.json files to start again`;
  let p: Progress;
  try {
    p = JSON.parse(readFileSync(path, "utf8")) as Progress;
  } catch (e) {
    throw new Specter2Error("OUTPUT_ERROR", `${path}: unreadable progress record (${(e as Error).message}); ${restart}`, { file: path }, { cause: e });
  }
  const version = (p as { version?: unknown } | null)?.version; // as read, before it is known to be a Progress
  if (version !== PROGRESS_VERSION) {
    const which = version === undefined ? "an earlier specter2-tfjs, which did not record what made the output" : `progress record version ${JSON.stringify(version)}`;
    throw new Specter2Error("OUTPUT_ERROR", `${path}: written by ${which}; this one reads version ${PROGRESS_VERSION} and cannot resume it: ${restart}`, {
      file: path,
      field: "version",
    });
  }
  if (p.format !== format) throw new Specter2Error("OUTPUT_ERROR", `${path}: the interrupted run wrote ${p.format}, this one asks for ${format}`, { file: path, field: "format" });
  if (p.source !== source) {
    throw new Specter2Error("OUTPUT_ERROR", `${path}: the interrupted run read ${p.source ?? "another input"}, this one reads ${source ?? "another input"}; ${restart}`, {
      file: path,
      field: "source",
    });
  }
  const changes = runChanges(p.run, run);
  if (changes.length > 0) {
    throw new Specter2Error("OUTPUT_ERROR", `${path}: cannot resume: ${changes.map((c) => c.what).join("; ")}. Rerun as the interrupted run did, or ${restart}`, {
      file: path,
      field: changes[0].field,
    });
  }
  return p;
}

/** What differs between the run that made a partial output and the one resuming it, in words. */
function runChanges(was: RunRecord | undefined, now: RunRecord | undefined): { field: string; what: string }[] {
  if (was === undefined && now === undefined) return [];
  if (was === undefined || now === undefined)
    return [{ field: "run", what: `the interrupted run ${was ? "recorded" : "did not record"} what made it, this one ${now ? "does" : "does not"}` }];
  const changes: { field: string; what: string }[] = [];
  const adapter = (a: string | null) => (a === null ? "none (the bare base)" : a);
  if (was.model.manifestSha256 !== now.model.manifestSha256) {
    changes.push({
      field: "model",
      what: `the model changed: manifest digest ${was.model.manifestSha256} (${was.model.dir}), now ${now.model.manifestSha256} (${now.model.dir})`,
    });
  }
  if (was.hiddenSize !== now.hiddenSize) changes.push({ field: "hiddenSize", what: `rows were ${was.hiddenSize} values, this model makes ${now.hiddenSize}` });
  if (was.adapter !== now.adapter) changes.push({ field: "adapter", what: `the adapter was ${adapter(was.adapter)}, now ${adapter(now.adapter)}` });
  if (was.maxLength !== now.maxLength) changes.push({ field: "maxLength", what: `the max length was ${was.maxLength} tokens, now ${now.maxLength}` });
  if ((was.normalize ?? false) !== (now.normalize ?? false)) {
    changes.push({ field: "normalize", what: `the rows were ${was.normalize === true ? "" : "not "}normalized, now they would ${now.normalize === true ? "" : "not "}be` });
  }
  return changes;
}
