// Whole-file writes that never leave a half-written file under the final name:
// write a sibling temporary file, flush it to disk, then rename over the target.
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { Specter2Error } from "../errors";

export function temporarySibling(path: string): string {
  return join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${Date.now()}`);
}

/** A file-system failure while writing `path`, as an OUTPUT_ERROR with the same message (the original is its cause). */
function outputError(e: unknown, path: string): unknown {
  if (e instanceof Specter2Error || !(e instanceof Error)) return e;
  return new Specter2Error("OUTPUT_ERROR", e.message, { file: path }, { cause: e });
}

/** A file written piece by piece (for outputs too large to hold in memory) that appears under its
 *  name only on commit(); abort() (or any failure before commit) leaves no trace. */
export class AtomicFileWriter {
  private readonly tmp: string;
  private readonly fd: number;
  private closed = false;

  constructor(readonly path: string) {
    this.tmp = temporarySibling(path);
    try {
      this.fd = openSync(this.tmp, "w");
    } catch (e) {
      throw outputError(e, path);
    }
  }

  write(data: Uint8Array | string): void {
    const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
    try {
      let done = 0;
      while (done < bytes.byteLength) done += writeSync(this.fd, bytes, done, bytes.byteLength - done);
    } catch (e) {
      this.abort();
      throw outputError(e, this.path);
    }
  }

  commit(): void {
    try {
      fsyncSync(this.fd);
      closeSync(this.fd);
      this.closed = true;
      renameSync(this.tmp, this.path);
    } catch (e) {
      this.abort();
      throw outputError(e, this.path);
    }
  }

  abort(): void {
    if (!this.closed) {
      try {
        closeSync(this.fd);
      } catch {
        /* already closed */
      }
      this.closed = true;
    }
    rmSync(this.tmp, { force: true });
  }
}

export function writeFileAtomic(path: string, data: Uint8Array | string): void {
  const file = new AtomicFileWriter(path);
  file.write(data);
  file.commit();
}
