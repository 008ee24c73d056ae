// Where writing to a path a user named ends up, found before any work is done. A regular file (or one not there yet)
// is written as a file: through its symlinks, so that the link stays and its target gets the bytes. A FIFO, a
// character device (/dev/null, a terminal) or a descriptor of this process (`-`, /dev/stdout, /proc/self/fd/N)
// is a stream: written in order, as it goes, never replaced by a file (which as root would replace /dev/stdout
// itself). A directory, a socket or a block device is refused, naming it.
import type { Stats } from "node:fs";
import { constants, lstatSync, openSync, readlinkSync, realpathSync, statSync } from "node:fs";
import { basename, dirname, resolve } from "node:path";
import { Specter2Error } from "../errors";
import { closeFully, outputError } from "./fileWrites";
import { specialFileKind } from "./regularFile";

/** A regular file's path, or a path with nothing there yet. */
export interface FileTarget {
  kind: "file";
  /** Where the bytes go: the path named, or where its symlinks lead (an absolute path then). */
  path: string;
  /** The path named, where it is a symlink (`path` is then its final target). */
  link?: string;
}

export interface StreamTarget {
  kind: "stream";
  /** The path named ("-": stdout). */
  path: string;
  /** What it is, in words: "stdout", "descriptor 1 of this process", "a FIFO (named pipe)", "a character device". */
  what: string;
  /** A descriptor of this process to write to, rather than opening the path. */
  fd?: number;
}

export type WriteTarget = FileTarget | StreamTarget;

/** Symlinks followed before giving up, as the system's own limit (ELOOP) does. */
const MAX_LINKS = 40;

/** What writing to `path` writes; a path that cannot be written to is an OUTPUT_ERROR naming it. */
export function writeTarget(path: string): WriteTarget {
  if (path === "-") return { kind: "stream", path, what: "stdout", fd: 1 };
  let at = path;
  for (let links = 0; links <= MAX_LINKS; links++) {
    let stat: Stats;
    try {
      stat = lstatSync(at);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return at === path ? { kind: "file", path } : { kind: "file", path: at, link: path };
      throw outputError(e, path, "inspect");
    }
    if (stat.isSymbolicLink()) {
      const fd = ownDescriptor(at);
      if (fd !== undefined) return { kind: "stream", path, what: `descriptor ${fd} of this process`, fd };
      at = resolve(dirname(at), readlinkSync(at));
      continue;
    }
    if (stat.isFile()) return at === path ? { kind: "file", path } : { kind: "file", path: at, link: path };
    if (stat.isFIFO() || stat.isCharacterDevice()) return { kind: "stream", path, what: specialFileKind(stat)! };
    const where = at === path ? "" : ` (${at}, where its symlinks lead)`;
    const hint = stat.isDirectory() ? ": name a file to write, inside it or elsewhere" : ": name a regular file, a FIFO or a character device";
    throw new Specter2Error("OUTPUT_ERROR", `${path}${where} is ${specialFileKind(stat)}, not something embeddings can be written to${hint}`, { file: path });
  }
  throw new Specter2Error("OUTPUT_ERROR", `${path}: more than ${MAX_LINKS} symlinks in a row (a loop?)`, { file: path });
}

/**
 * The descriptor number when `link` is an entry of this process's descriptor folder (/proc/self/fd/N, /dev/fd/N,
 * and /dev/stdout, which leads there): written to as it is, since opening it again would fail for a socket and
 * would truncate or rewind a file the shell opened for appending.
 */
function ownDescriptor(link: string): number | undefined {
  let folder: string;
  try {
    folder = realpathSync(dirname(link));
  } catch {
    return undefined;
  }
  const m = /^\/proc\/(\d+)(?:\/task\/\d+)?\/fd$/.exec(folder);
  if (!m || Number(m[1]) !== process.pid || !/^\d+$/.test(basename(link))) return undefined;
  return Number(basename(link));
}

/** Flags for opening a stream: never blocking (a FIFO's open would wait for a reader with the whole process), never
 *  taking a terminal as the controlling one, appending where the target can be appended to. */
const STREAM_FLAGS = constants.O_WRONLY | constants.O_APPEND | (constants.O_NOCTTY ?? 0) | (constants.O_NONBLOCK ?? 0);

/**
 * Opens a stream target for writing and returns its descriptor and how to close it (a descriptor of this process is
 * left open). A FIFO that no reader has opened yet is waited for, as `cat > fifo` waits, polling so that signals
 * still stop the process; `onWait` is told once when that happens.
 */
export async function openStream(target: StreamTarget, onWait?: () => void): Promise<{ fd: number; close: () => void }> {
  if (target.fd !== undefined) return { fd: target.fd, close: () => undefined };
  let told = false;
  for (;;) {
    try {
      const fd = openSync(target.path, STREAM_FLAGS);
      return { fd, close: () => closeFully(fd, target.path) };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENXIO" || !isFifo(target.path)) throw outputError(e, target.path, "open");
    }
    if (!told) onWait?.();
    told = true;
    await new Promise((r) => setTimeout(r, 100));
  }
}

function isFifo(path: string): boolean {
  try {
    return statSync(path).isFIFO();
  } catch {
    return false;
  }
}
