// Whole-file writes that never leave a half-written file under the final name:
// write a sibling temporary file, flush it to disk, then rename over the target. Every failure (a full disk, a
// quota, a size limit, no permission) is an OUTPUT_ERROR naming the file, and leaves no temporary file behind.
import { closeSync, lstatSync, openSync, renameSync, rmSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { Specter2Error } from "../errors";
import { outputError, syncFully, writeFully } from "./fileWrites";
import { specialFileKind } from "./regularFile";

export function temporarySibling(path: string): string {
  return join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${Date.now()}`);
}

/** Throws OUTPUT_ERROR if `path` is there and is neither a regular file nor a symlink: renaming over a directory
 *  fails only once everything is written, and renaming over a FIFO or a device replaces it. */
function refuseSpecialTarget(path: string): void {
  let kind: string | undefined;
  try {
    const stat = lstatSync(path);
    kind = stat.isSymbolicLink() ? undefined : specialFileKind(stat);
  } catch {
    return; // not there yet
  }
  if (kind !== undefined) throw new Specter2Error("OUTPUT_ERROR", `${path} is ${kind}: cannot replace it by a file`, { file: path });
}

/** A file written piece by piece (for outputs too large to hold in memory) that appears under its
 *  name only on commit(); abort() (or any failure before commit) leaves no trace. */
export class AtomicFileWriter {
  private readonly tmp: string;
  private readonly fd: number;
  private closed = false;

  constructor(readonly path: string) {
    refuseSpecialTarget(path);
    this.tmp = temporarySibling(path);
    try {
      this.fd = openSync(this.tmp, "w");
    } catch (e) {
      throw outputError(e, path);
    }
  }

  write(data: Uint8Array | string): void {
    try {
      writeFully(this.fd, typeof data === "string" ? Buffer.from(data, "utf8") : data, this.path);
    } catch (e) {
      this.abort();
      throw e;
    }
  }

  commit(): void {
    try {
      syncFully(this.fd, this.path);
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
