// Writes that complete or fail as OUTPUT_ERROR naming the file: a full disk (ENOSPC), a quota (EDQUOT), a file
// over the size limit (EFBIG), a read-only or failing file system (EROFS, EIO), no permission (EACCES, EPERM), a
// reader that went away (EPIPE). Scripts branch on the exit status that OUTPUT_ERROR gives (7, docs/errors.md); a
// person needs the file's name, which a bare "ENOSPC: no space left on device, write" does not give.
import { closeSync, constants, fsyncSync, openSync, writeSync } from "node:fs";
import { Specter2Error } from "../errors";

/** A file-system failure while doing `action` to `file` ("write", "create", "replace"), as an OUTPUT_ERROR naming it
 *  with the system's words (the original error is its cause); a Specter2Error, or anything not an Error, as it is. */
export function outputError(e: unknown, file: string, action = "write"): unknown {
  if (e instanceof Specter2Error || !(e instanceof Error)) return e;
  return new Specter2Error("OUTPUT_ERROR", `cannot ${action} ${file}: ${e.message}`, { file }, { cause: e });
}

const pauseCell = new Int32Array(new SharedArrayBuffer(4));

/** Sleeps the thread for `ms` (a descriptor that would block: nothing else can go on until it takes the bytes). */
function pause(ms: number): void {
  Atomics.wait(pauseCell, 0, 0, ms);
}

/**
 * Writes all of `bytes` to `fd` (`file` names it in errors), at `position` or, without one, where the descriptor is.
 * A descriptor that would block (EAGAIN: a FIFO whose reader is behind, a terminal or stdout set non-blocking) is
 * waited for, as a blocking write would wait.
 */
export function writeFully(fd: number, bytes: Uint8Array, file: string, position?: number): void {
  let done = 0;
  while (done < bytes.byteLength) {
    try {
      done += writeSync(fd, bytes, done, bytes.byteLength - done, position === undefined ? null : position + done);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EAGAIN") throw outputError(e, file);
      pause(5);
    }
  }
}

/** fsync, a failure of which (EIO, ENOSPC on file systems that allocate late) is an OUTPUT_ERROR naming `file`. */
export function syncFully(fd: number, file: string): void {
  try {
    fsyncSync(fd);
  } catch (e) {
    throw outputError(e, file);
  }
}

/** Writes a whole new file (replacing one there), flushed to disk; every failure is an OUTPUT_ERROR naming it. */
export function writeNewFile(path: string, data: Uint8Array | string): void {
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC);
  } catch (e) {
    throw outputError(e, path, "create");
  }
  try {
    writeFully(fd, typeof data === "string" ? Buffer.from(data, "utf8") : data, path);
    syncFully(fd, path);
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  closeFully(fd, path);
}

/** close, a failure of which (a network file system reports write errors there) is an OUTPUT_ERROR naming `file`. */
export function closeFully(fd: number, file: string): void {
  try {
    closeSync(fd);
  } catch (e) {
    throw outputError(e, file);
  }
}
