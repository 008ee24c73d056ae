// `embed` must never write over its own input: an output, or any file it writes beside it, that is the input
// under any name (the same path, `./x` for `x`, a symlink, a hard link) is refused before anything is written. Nor
// may one of those files be a directory or a special file, found only once all the work is done.
import type { Stats } from "node:fs";
import { realpathSync, statSync } from "node:fs";
import { basename, dirname, join, resolve, sep } from "node:path";
import { Specter2Error } from "../errors";
import { specialFileKind } from "../io/regularFile";

/** A file a command will write, and what it is, for the message ("the progress record"). */
export interface WrittenFile {
  path: string;
  what: string;
}

/** The file `path` names as far as it can be known before it exists: its realpath, else its parent's realpath and its name. */
function canonical(path: string): string {
  try {
    return realpathSync(path); // as the system resolves it ("link/.." is the link's target's parent)
  } catch {
    // not there (yet)
  }
  try {
    return join(realpathSync(dirname(path)), basename(path));
  } catch {
    return resolve(path);
  }
}

/** Whether `a` and `b` are one file: the same canonical path, or (both existing) the same device and inode. */
function sameFile(a: string, b: string): boolean {
  if (canonical(a) === canonical(b)) return true;
  try {
    const [sa, sb] = [statSync(a), statSync(b)];
    return sa.dev === sb.dev && sa.ino === sb.ino;
  } catch {
    return false;
  }
}

/**
 * Throws (OUTPUT_ERROR, naming both paths) if the input file is one of the files to be written, or lies inside
 * `insideDir` (a folder the command's other runs write, e.g. a sharded output's parts). "-" (stdin) is never one.
 */
export function refuseWritingInput(input: string, written: readonly WrittenFile[], insideDir?: WrittenFile): void {
  if (input === "-") return;
  for (const w of written) {
    if (sameFile(input, w.path)) {
      const alias = resolve(w.path) === resolve(input) ? "" : " (the same file under another name)";
      throw new Specter2Error("OUTPUT_ERROR", `the input ${input} is ${w.what} ${w.path}${alias}: embedding would overwrite it; choose an --output whose files are not the input`, {
        file: w.path,
        field: "output",
      });
    }
  }
  if (insideDir) {
    const dir = canonical(insideDir.path);
    if (canonical(input).startsWith(dir + sep)) {
      throw new Specter2Error("OUTPUT_ERROR", `the input ${input} is inside ${insideDir.what} ${insideDir.path}, which embedding writes; move the input or choose another --output`, {
        file: insideDir.path,
        field: "output",
      });
    }
  }
}

/** Throws (OUTPUT_ERROR, naming it) if one of the files to be written is there and is not a regular file (a directory,
 *  a FIFO, …), which writing or renaming into place would fail on, or replace. */
export function refuseSpecialOutputs(written: readonly WrittenFile[]): void {
  for (const w of written) {
    let stat: Stats;
    try {
      stat = statSync(w.path);
    } catch {
      continue; // not there: it will be created
    }
    const kind = specialFileKind(stat);
    if (kind !== undefined) {
      throw new Specter2Error("OUTPUT_ERROR", `${w.path} (${w.what}) is ${kind}, not a regular file that can be written: move it away or choose another --output`, {
        file: w.path,
        field: "output",
      });
    }
  }
}
