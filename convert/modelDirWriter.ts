// Writing a model directory so that a reader never sees half of one: everything goes into a hidden
// sibling directory, which replaces `out` by rename only once complete. A failure leaves `out` as it was.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { MANIFEST_FILE, MODEL_FORMAT } from "../src/weights/modelDir";
import { Specter2Error } from "../src/errors";

/**
 * `out` may be absent, empty, or a model directory written before (re-running is safe); anything else
 * is refused rather than replaced, so a mistyped --out cannot wipe unrelated files.
 */
export function checkReplaceable(out: string): void {
  if (!existsSync(out)) return;
  if (!statSync(out).isDirectory()) throw new Specter2Error("OUTPUT_ERROR", `--out ${out} exists and is not a directory`, { file: out, field: "out" });
  if (readdirSync(out).length === 0) return;
  const manifest = join(out, MANIFEST_FILE);
  let format: unknown;
  try {
    format = (JSON.parse(readFileSync(manifest, "utf8")) as { format?: unknown }).format;
  } catch {
    format = undefined;
  }
  if (format !== MODEL_FORMAT) {
    throw new Specter2Error("OUTPUT_ERROR", `--out ${out} is a non-empty directory without a ${MODEL_FORMAT} ${MANIFEST_FILE}: refusing to replace it`, { file: out, field: "out" });
  }
}

/** Runs `build` on a fresh sibling directory of `out`, then swaps it into place. */
export function replaceDirectory(out: string, build: (dir: string) => void): void {
  checkReplaceable(out);
  mkdirSync(dirname(out), { recursive: true });
  const stamp = `${process.pid}-${Date.now()}`;
  const fresh = join(dirname(out), `.${basename(out)}.new-${stamp}`);
  mkdirSync(fresh);
  try {
    build(fresh);
  } catch (e) {
    rmSync(fresh, { recursive: true, force: true });
    throw e;
  }
  if (!existsSync(out)) {
    renameSync(fresh, out);
    return;
  }
  // Two renames: between them `out` is briefly absent, never partial.
  const old = join(dirname(out), `.${basename(out)}.old-${stamp}`);
  renameSync(out, old);
  try {
    renameSync(fresh, out);
  } catch (e) {
    renameSync(old, out);
    rmSync(fresh, { recursive: true, force: true });
    throw e;
  }
  rmSync(old, { recursive: true, force: true });
}
