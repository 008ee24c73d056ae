// Hostile or careless files on disk, each a small function an attack test (or a rerunnable attacks suite) calls:
// a user's own files inside a model directory, a torch checkpoint of stride-0 views, files that are special
// (a link to /dev/zero, a FIFO), and a symlink leading out of a directory.
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { storedZip } from "./fuzzZip";
import { PickleBuilder } from "./pickleBuilder";

/** What a user keeps next to a model (notes, vectors embedded with it): relative path → contents. */
export const USER_FILES: Readonly<Record<string, string>> = {
  "NOTES.md": "# converted for the lab's runs\n",
  "runs/papers.npy": "not really npy: the user's own data\n",
};

/** Writes USER_FILES into `dir`. */
export function addUserFiles(dir: string): void {
  for (const [path, text] of Object.entries(USER_FILES)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
}

/** USER_FILES as they now are in `dir` (a missing one reads as null). */
export function readUserFiles(dir: string): Record<string, string | null> {
  return Object.fromEntries(
    Object.keys(USER_FILES).map((path) => {
      try {
        return [path, readFileSync(join(dir, path), "utf8")];
      } catch {
        return [path, null];
      }
    }),
  );
}

/**
 * A torch.save archive (a few hundred bytes) whose tensors are all stride-0 views of one float32: each claims
 * `elements` floats, which a reader that copies views before checking anything materialises, 4 × `elements` bytes
 * per tensor. Named like an adapter's tensors so that only the view's cost can stop it.
 */
export function strideZeroCheckpoint(names: readonly string[], elements: number): Uint8Array {
  const pickle = new PickleBuilder().stateDict(names.map((name) => [name, (b) => b.tensor({ key: "0", numel: 1, size: [elements], stride: [0] })])).bytes();
  return storedZip([
    ["archive/data.pkl", pickle],
    ["archive/data/0", new Uint8Array(4)],
  ]);
}

/** Replaces `path` by a symlink to /dev/zero: endless bytes to whoever reads it whole. */
export function linkToDevZero(path: string): void {
  symlinkSync("/dev/zero", path);
}

/** Makes `path` a FIFO (named pipe) with no writer: a blocking open of it waits forever. */
export function makeFifo(path: string): void {
  execFileSync("mkfifo", [path]);
}

/** A symlink `name` inside `dir` to `target` outside it (e.g. /etc/passwd). */
export function linkOut(dir: string, name: string, target: string): void {
  symlinkSync(target, join(dir, name));
}
