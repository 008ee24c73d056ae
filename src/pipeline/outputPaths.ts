// `embed` must never write over its own input: an output, or any file it writes beside it, that is the input
// under any name (the same path, `./x` for `x`, a symlink, a hard link) is refused before anything is written.
import { realpathSync, statSync } from "node:fs";
import { basename, dirname, join, resolve, sep } from "node:path";
import { Specter2Error } from "../errors";

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
