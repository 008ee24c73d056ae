// Embedding outputs that survive interruption. Rows are appended to `<out>.partial` and flushed;
// after each flush `<out>.progress.json` records how many bytes and input lines are done. The final
// file appears (by rename) only when the run completes, so a reader never sees a half-written one;
// `--resume` truncates the partial file to the last recorded progress and carries on from there.
import { closeSync, existsSync, fstatSync, fsyncSync, ftruncateSync, openSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
import { writeFileAtomic } from "../io/atomicFile";
import { npyHeader } from "../io/npy";
import { Specter2Error } from "../errors";

export type OutputFormat = "jsonl" | "npy";
export type RecordId = string | number;

export interface EmbeddedRow {
  id: RecordId;
  embedding: Float32Array;
}

interface Progress {
  format: OutputFormat;
  rows: number;
  /** Input line number of the last record handled (embedded or skipped). */
  lastLine: number;
  dataBytes: number;
  idsBytes: number;
  /** Values per row, known from the first row written. */
  dim: number | null;
  /** What the run read (e.g. a shard's byte range of an input of some size): a resume must read the same. */
  source?: string;
}

/** For `x.npy` the ids go to `x.ids.jsonl` (one JSON value per line, row order). */
export function idsPathFor(output: string): string {
  return output.replace(/\.npy$/, "") + ".ids.jsonl";
}

/** An append-only file that can be cut back to a recorded length. */
class AppendFile {
  private readonly fd: number;

  constructor(
    readonly path: string,
    keepBytes: number | null,
  ) {
    try {
      this.fd = openSync(path, keepBytes === null ? "w" : "r+");
    } catch (e) {
      throw new Specter2Error("OUTPUT_ERROR", (e as Error).message, { file: path }, { cause: e });
    }
    if (keepBytes !== null) {
      const size = fstatSync(this.fd).size;
      if (size < keepBytes) {
        closeSync(this.fd);
        throw new Specter2Error("OUTPUT_ERROR", `${path}: ${size} bytes, but the progress record says ${keepBytes} were written: cannot resume; delete it and start again`, { file: path });
      }
      ftruncateSync(this.fd, keepBytes);
    }
  }

  get size(): number {
    return fstatSync(this.fd).size;
  }

  append(bytes: Uint8Array): void {
    let at = this.size;
    let done = 0;
    while (done < bytes.byteLength) {
      const n = writeSync(this.fd, bytes, done, bytes.byteLength - done, at);
      done += n;
      at += n;
    }
  }

  writeAt(bytes: Uint8Array, position: number): void {
    writeSync(this.fd, bytes, 0, bytes.byteLength, position);
  }

  flush(): void {
    fsyncSync(this.fd);
  }

  close(): void {
    closeSync(this.fd);
  }
}

export class EmbeddingSink {
  private readonly data: AppendFile;
  private readonly ids: AppendFile | null;
  private progress: Progress;

  private constructor(
    readonly output: string,
    readonly format: OutputFormat,
    resume: boolean,
    source: string | undefined,
  ) {
    const progressPath = `${output}.progress.json`;
    const partial = `${output}.partial`;
    const saved = resume && existsSync(progressPath) ? readProgress(progressPath, format, source) : null;
    if (!resume && existsSync(partial)) {
      throw new Specter2Error("OUTPUT_ERROR", `${partial} is left from an interrupted run: pass --resume to continue it, or delete it to start again`, { file: partial });
    }
    this.progress = saved ?? { format, rows: 0, lastLine: 0, dataBytes: 0, idsBytes: 0, dim: null, source };
    this.data = new AppendFile(partial, saved ? saved.dataBytes : null);
    this.ids = format === "npy" ? new AppendFile(`${idsPathFor(output)}.partial`, saved ? saved.idsBytes : null) : null;
    if (format === "npy" && !saved) {
      this.data.append(npyHeader(0, 0)); // placeholder, rewritten by finish()
      this.progress.dataBytes = this.data.size;
    }
  }

  /** Opens the output; with `resume`, continues an interrupted run of the same output. `source`
   *  describes the input (for a shard: its byte range and the file's size); a resume must match it. */
  static open(output: string, format: OutputFormat, resume: boolean, source?: string): EmbeddingSink {
    return new EmbeddingSink(output, format, resume, source);
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

  /** Appends rows (in input order) and records that input up to `lastLine` is done. */
  write(rows: readonly EmbeddedRow[], lastLine: number): void {
    if (this.format === "jsonl") {
      if (rows.length > 0) this.progress.dim ??= rows[0].embedding.length;
      this.data.append(Buffer.from(rows.map((r) => `${JSON.stringify({ paper_id: r.id, embedding: Array.from(r.embedding) })}\n`).join(""), "utf8"));
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
    this.progress = {
      ...this.progress,
      rows: this.progress.rows + rows.length,
      lastLine,
      dataBytes: this.data.size,
      idsBytes: this.ids?.size ?? 0,
    };
    writeFileAtomic(`${this.output}.progress.json`, JSON.stringify(this.progress));
  }

  /** Publishes the complete output under its final name(s) and removes the bookkeeping files. */
  finish(): void {
    if (this.format === "npy") {
      this.data.writeAt(npyHeader(this.progress.rows, this.progress.dim ?? 0), 0);
      this.data.flush();
    }
    this.data.close();
    this.ids?.close();
    if (this.ids) renameSync(this.ids.path, idsPathFor(this.output));
    renameSync(this.data.path, this.output);
    rmSync(`${this.output}.progress.json`, { force: true });
  }

  /** Stops without publishing: what was written stays for --resume. */
  close(): void {
    this.data.close();
    this.ids?.close();
  }
}

function readProgress(path: string, format: OutputFormat, source: string | undefined): Progress {
  let p: Progress;
  try {
    p = JSON.parse(readFileSync(path, "utf8")) as Progress;
  } catch (e) {
    throw new Specter2Error(
      "OUTPUT_ERROR",
      `${path}: unreadable progress record (${(e as Error).message}); delete the .partial and .progress.json files to start again`,
      { file: path },
      { cause: e },
    );
  }
  if (p.format !== format) throw new Specter2Error("OUTPUT_ERROR", `${path}: the interrupted run wrote ${p.format}, this one asks for ${format}`, { file: path, field: "format" });
  if (p.source !== source) {
    throw new Specter2Error(
      "OUTPUT_ERROR",
      `${path}: the interrupted run read ${p.source ?? "another input"}, this one reads ${source ?? "another input"}; delete its .partial and .progress.json files to start again`,
      { file: path, field: "source" },
    );
  }
  return p;
}
