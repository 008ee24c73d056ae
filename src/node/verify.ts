// A model directory's files on disk against the manifest's sha256 and byte counts (Node), hashed in chunks.
// Errors name the file so a corrupt download is found at once.
import { existsSync } from "node:fs";
import { fileDigest } from "../io/fileHash";
import type { Manifest } from "../weights/modelDir";
import { modelPath } from "./modelPath";
import { IntegrityError } from "../weights/integrity";

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
