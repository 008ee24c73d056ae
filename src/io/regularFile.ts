// Reading a file a user named: only a regular file (after symlinks), and never more of it than the size it had when
// opened. A link to /dev/zero, a FIFO, a socket or a directory is refused before a byte is read: nothing reads
// without bound, and a FIFO with no writer cannot hang the process (it is opened non-blocking, then refused).
import type { Stats } from "node:fs";
import { closeSync, constants, fstatSync, openSync, readSync, statSync } from "node:fs";
import type { ErrorCode } from "../errors";
import { Specter2Error } from "../errors";

/** O_NONBLOCK where the platform has it: opening a FIFO for reading then returns at once instead of waiting for a writer. */
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);

/** What a file that is not a regular one is, in words; undefined for a regular file. */
export function specialFileKind(stat: Stats): string | undefined {
  if (stat.isFile()) return undefined;
  if (stat.isDirectory()) return "a directory";
  if (stat.isCharacterDevice()) return "a character device";
  if (stat.isBlockDevice()) return "a block device";
  if (stat.isFIFO()) return "a FIFO (named pipe)";
  if (stat.isSocket()) return "a socket";
  return "an entry of an unknown kind";
}

export function notRegularFileError(path: string, kind: string, code: ErrorCode): Specter2Error {
  return new Specter2Error(code, `${path} is ${kind}, not a regular file: refusing to read it`, { file: path });
}

/** Refuses, with `code` and naming it, a `path` that exists and is not a regular file (after symlinks), before a
 *  caller that reads it whole opens it; a missing file passes, for the caller's own "missing" error. */
export function refuseSpecialFile(path: string, code: ErrorCode): void {
  let stat: Stats;
  try {
    stat = statSync(path);
  } catch {
    return;
  }
  const kind = specialFileKind(stat);
  if (kind !== undefined) throw notRegularFileError(path, kind, code);
}

/**
 * Opens `path` for reading when it is a regular file and returns its descriptor and size; anything else is refused
 * with `code`, naming the file. Errors of the open itself (ENOENT, EACCES, …) are thrown as Node raised them.
 */
export function openRegularFile(path: string, code: ErrorCode): { fd: number; size: number } {
  const fd = openSync(path, OPEN_FLAGS);
  try {
    const stat = fstatSync(fd);
    const kind = specialFileKind(stat);
    if (kind !== undefined) throw notRegularFileError(path, kind, code);
    return { fd, size: stat.size };
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

/**
 * The whole of a regular file (openRegularFile's refusals), read up to the size it had when opened. Every failure is a
 * Specter2Error naming the file: MODEL_NOT_FOUND when it is not there, else `code` (a special file, one that cannot be
 * opened, or one that shrank while being read).
 */
export function readRegularFile(path: string, code: ErrorCode): Buffer {
  let opened: { fd: number; size: number };
  try {
    opened = openRegularFile(path, code);
  } catch (e) {
    if (e instanceof Specter2Error) throw e;
    const missing = (e as NodeJS.ErrnoException).code === "ENOENT";
    throw new Specter2Error(missing ? "MODEL_NOT_FOUND" : code, (e as Error).message, { file: path }, { cause: e });
  }
  const { fd, size } = opened;
  try {
    const bytes = Buffer.allocUnsafe(size);
    let done = 0;
    while (done < size) {
      const n = readSync(fd, bytes, done, size - done, done);
      if (n === 0) throw new Specter2Error(code, `${path}: file shrank while being read (${done} of ${size} bytes)`, { file: path });
      done += n;
    }
    return bytes;
  } finally {
    closeSync(fd);
  }
}
