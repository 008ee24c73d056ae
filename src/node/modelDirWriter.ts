// Writing a model directory so that a reader never sees half of one: everything goes into a hidden
// sibling directory, which replaces `out` by rename only once complete. A failure leaves `out` as it was, and one of
// the file system (a full disk, a quota, a size limit, no permission) is an OUTPUT_ERROR naming the file.
// Only the converter's own files are replaced: whatever else the directory holds (a user's notes, runs
// embedded with the model) is carried over into the new one.
import type { Dirent } from "node:fs";
import { copyFileSync, existsSync, linkSync, lstatSync, mkdirSync, readdirSync, readlinkSync, renameSync, rmSync, statSync, symlinkSync } from "node:fs";
import { basename, dirname, join, relative } from "node:path";
import type { ConvertedModel } from "../weights/hub/convertRepos";
import { json } from "../weights/hub/convertRepos";
import { ADAPTERS_DIR, MANIFEST_FILE, MODEL_FORMAT } from "../weights/modelDir";
import { modelPath } from "./modelDirectory";
import { outputError, writeNewFile } from "../io/fileWrites";
import { readRegularFile } from "../io/regularFile";
import { Specter2Error } from "../errors";

/**
 * `out` may be absent, empty, or a model directory written before (re-running is safe); anything else
 * is refused rather than replaced, so a mistyped --out cannot wipe unrelated files. Returns the files the
 * converter wrote there: manifest.json and every file its manifest lists ("/"-separated, relative to `out`).
 */
export function checkReplaceable(out: string): Set<string> {
  if (!existsSync(out)) return new Set();
  if (!statSync(out).isDirectory()) throw new Specter2Error("OUTPUT_ERROR", `--out ${out} exists and is not a directory`, { file: out, field: "out" });
  if (readdirSync(out).length === 0) return new Set();
  let manifest: { format?: unknown; files?: unknown } | undefined;
  try {
    manifest = JSON.parse(readRegularFile(join(out, MANIFEST_FILE), "OUTPUT_ERROR").toString("utf8")) as typeof manifest;
  } catch {
    manifest = undefined;
  }
  if (manifest?.format !== MODEL_FORMAT) {
    throw new Specter2Error("OUTPUT_ERROR", `--out ${out} is a non-empty directory without a ${MODEL_FORMAT} ${MANIFEST_FILE}: refusing to replace it`, { file: out, field: "out" });
  }
  for (const entry of entriesUnder(out)) {
    if (!entry.isFile() && !entry.isDirectory() && !entry.isSymbolicLink()) {
      const path = join(entry.parentPath, entry.name);
      throw new Specter2Error("OUTPUT_ERROR", `--out ${out} holds ${path}, which is not a file, folder or symlink and could not be kept: move it away first`, {
        file: path,
        field: "out",
      });
    }
  }
  const files = manifest.files !== null && typeof manifest.files === "object" ? Object.keys(manifest.files) : [];
  return new Set([MANIFEST_FILE, ...files]);
}

/** A converted model written to `out` (replaceDirectory): its files, then its manifest last, so that a directory
 *  without its manifest is never taken for a model. `previous`: checkReplaceable(out), taken before converting. */
export function writeModelDirectory(out: string, model: ConvertedModel, previous: ReadonlySet<string>): void {
  replaceDirectory(out, new Set([...previous, ...model.files.keys()]), (dir) => {
    if (Object.keys(model.manifest.adapters).length > 0) mkdirSync(join(dir, ADAPTERS_DIR), { recursive: true });
    for (const [path, bytes] of model.files) writeNewFile(modelPath(dir, path), bytes);
    writeNewFile(join(dir, MANIFEST_FILE), json(model.manifest));
  });
}

/**
 * Runs `build` on a fresh sibling directory of `out`, then swaps it into place. Everything `out` holds but
 * `replaced` (the converter's files that the new directory rewrites or drops, "/"-separated and relative) is
 * carried over once `build` is done (so that it never writes through a hard link into the old directory): hard
 * links, copies where links fail, symlinks as symlinks.
 */
export function replaceDirectory(out: string, replaced: ReadonlySet<string>, build: (dir: string) => void): void {
  checkReplaceable(out);
  const stamp = `${process.pid}-${Date.now()}`;
  const fresh = join(dirname(out), `.${basename(out)}.new-${stamp}`);
  try {
    mkdirSync(dirname(out), { recursive: true });
    mkdirSync(fresh);
  } catch (e) {
    throw outputError(e, fresh, "create");
  }
  try {
    build(fresh);
    if (existsSync(out)) carryOver(out, fresh, replaced);
  } catch (e) {
    rmSync(fresh, { recursive: true, force: true });
    throw leftAsItWas(e, out);
  }
  if (!existsSync(out)) {
    rename(fresh, out);
    return;
  }
  // Two renames: between them `out` is briefly absent, never partial.
  const old = join(dirname(out), `.${basename(out)}.old-${stamp}`);
  rename(out, old);
  try {
    rename(fresh, out);
  } catch (e) {
    renameSync(old, out);
    rmSync(fresh, { recursive: true, force: true });
    throw e;
  }
  rmSync(old, { recursive: true, force: true });
}

function rename(from: string, to: string): void {
  try {
    renameSync(from, to);
  } catch (e) {
    throw outputError(e, to, `rename ${from} to`);
  }
}

/** A failure while the new directory was built, as an OUTPUT_ERROR naming the file it concerns (Node's errors of a
 *  path give it), saying that `out` was not changed. Other errors pass as they are. */
function leftAsItWas(e: unknown, out: string): unknown {
  const path = (e as NodeJS.ErrnoException | null)?.path;
  const error = outputError(e, typeof path === "string" ? path : out);
  if (!(error instanceof Specter2Error) || error.code !== "OUTPUT_ERROR") return error;
  const left = existsSync(out) ? `${out} is left as it was` : `nothing was written to ${out}`;
  return new Specter2Error("OUTPUT_ERROR", `${error.message}; ${left}`, error.details(), { cause: error.cause ?? e });
}

function lexists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

function entriesUnder(dir: string): Dirent[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true });
}

/** Every entry of `from` but the files in `except` (and any `to` has already) into `to`. A folder is made where
 *  something is carried into it, or where it was empty already: one that held only replaced files is not left behind. */
function carryOver(from: string, to: string, except: ReadonlySet<string>): void {
  for (const entry of entriesUnder(from)) {
    const source = join(entry.parentPath, entry.name);
    const rel = relative(from, source).split("\\").join("/");
    const target = modelPath(to, rel);
    if (except.has(rel) || lexists(target)) continue;
    if (entry.isDirectory()) {
      if (readdirSync(source).length === 0) mkdirSync(target, { recursive: true });
      continue;
    }
    mkdirSync(dirname(target), { recursive: true });
    if (entry.isSymbolicLink()) {
      symlinkSync(readlinkSync(source), target);
    } else if (entry.isFile()) {
      try {
        linkSync(source, target);
      } catch {
        copyFileSync(source, target);
      }
    }
  }
}
