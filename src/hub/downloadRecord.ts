// What we know about a downloaded (or half-downloaded) file, kept next to it in `.download/<file>.json`: a rerun
// skips a complete file without asking the Hub, and resumes a partial one only if the Hub still serves the
// same version of it.
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { writeFileAtomic } from "../io/atomicFile";

export const RECORDS_DIR = ".download";

interface RecordBase {
  /** The `resolve` URL, so a different endpoint or revision is never taken for this one. */
  url: string;
  etag: string | undefined;
}

export interface PartialRecord extends RecordBase {
  state: "partial";
  size: number | undefined;
}

export interface CompleteRecord extends RecordBase {
  state: "complete";
  size: number;
  /** Of the bytes on disk. */
  sha256: string;
  /** Whether that sha256 was checked against the Hub's (LFS files only). */
  verified: boolean;
  commit: string | undefined;
  /** The repo's current name, where the Hub redirected the one asked for (a renamed repo). */
  repo?: string;
}

export type DownloadRecord = PartialRecord | CompleteRecord;

function recordPath(dir: string, file: string): string {
  return join(dir, RECORDS_DIR, `${file}.json`);
}

/** The record, or undefined when there is none or it is unreadable (then the file is simply fetched again). */
export function readRecord(dir: string, file: string): DownloadRecord | undefined {
  const path = recordPath(dir, file);
  if (!existsSync(path)) return undefined;
  try {
    const record = JSON.parse(readFileSync(path, "utf8")) as DownloadRecord;
    return record.state === "partial" || record.state === "complete" ? record : undefined;
  } catch {
    return undefined;
  }
}

export function writeRecord(dir: string, file: string, record: DownloadRecord): void {
  const path = recordPath(dir, file);
  mkdirSync(dirname(path), { recursive: true });
  writeFileAtomic(path, `${JSON.stringify(record, null, 2)}\n`);
}

export function removeRecord(dir: string, file: string): void {
  rmSync(recordPath(dir, file), { force: true });
}
