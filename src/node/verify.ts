// A model directory's files on disk against the manifest's sha256 and byte counts (Node), hashed in chunks.
// Errors name the file so a corrupt download is found at once.
import { createHash } from "node:crypto";
import { closeSync, existsSync, fstatSync, openSync, readSync } from "node:fs";
import type { Manifest } from "../weights/modelDir";
import { modelPath } from "./modelPath";
import { IntegrityError } from "../weights/integrity";

/** Files are hashed in chunks, so verifying a 440 MB checkpoint holds 1 MB of it at a time. */
const CHUNK_BYTES = 1 << 20;

/** Hex sha256 of a file and its size, read in chunks. */
export function fileDigest(path: string): { sha256: string; bytes: number } {
  const fd = openSync(path, "r");
  try {
    const hash = createHash("sha256");
    const chunk = Buffer.allocUnsafe(CHUNK_BYTES);
    let bytes = 0;
    for (let n; (n = readSync(fd, chunk, 0, CHUNK_BYTES, bytes)) > 0; bytes += n) hash.update(chunk.subarray(0, n));
    if (bytes !== fstatSync(fd).size) throw new IntegrityError(`${path}: changed size while being hashed`, { file: path });
    return { sha256: hash.digest("hex"), bytes };
  } finally {
    closeSync(fd);
  }
}

/** Checks every file the manifest lists; throws naming each missing or altered one. */
export function verifyManifestFiles(dir: string, manifest: Manifest): void {
  const files = manifest.files;
  if (files === null || typeof files !== "object" || Object.keys(files).length === 0) {
    throw new IntegrityError(`${modelPath(dir, "manifest.json")}: lists no files to verify`, { file: modelPath(dir, "manifest.json") });
  }
  const problems: string[] = [];
  let firstBad: string | undefined;
  for (const [relative, expected] of Object.entries(files)) {
    const path = modelPath(dir, relative);
    if (!existsSync(path)) {
      firstBad ??= path;
      problems.push(`${path}: missing`);
      continue;
    }
    const actual = fileDigest(path);
    if (actual.bytes !== expected.bytes || actual.sha256 !== expected.sha256) firstBad ??= path;
    if (actual.bytes !== expected.bytes) {
      problems.push(`${path}: ${actual.bytes} bytes, the manifest says ${expected.bytes}`);
    } else if (actual.sha256 !== expected.sha256) {
      problems.push(`${path}: sha256 ${actual.sha256}, the manifest says ${expected.sha256}`);
    }
  }
  if (problems.length > 0) {
    // `file` is the first file at fault (the message lists them all).
    throw new IntegrityError(`${dir}: model directory failed verification (${problems.length} of ${Object.keys(files).length} files):\n  ${problems.join("\n  ")}`, { file: firstBad });
  }
}
