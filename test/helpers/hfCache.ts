// A fake Hugging Face cache laid out exactly as huggingface_hub lays it out, under a temporary HF_HOME:
//   $HF_HOME/hub/models--{owner}--{name}/blobs/{sha256 for LFS files | git sha1 for small files}
//   …/snapshots/{commit}/{file} → ../../blobs/{name} (relative symlinks), or copies ("Windows": no blob kept)
//   …/refs/{branch} holding a commit hash (no newline), …/.no_exist/{commit}/{file} empty markers
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";

/** Hub LFS files (as test/helpers/fakeHub.ts serves them): named by sha256 in blobs/; the rest by git sha1. */
const LFS_FILE = /\.(bin|safetensors)$/;

export interface SnapshotSpec {
  commit: string;
  /** The folder whose top-level files the snapshot holds. */
  from: string;
  /** Only these of its files (default: all). */
  files?: string[];
  /** Files the repo is known not to have at this commit (.no_exist markers). */
  noExist?: string[];
}

export interface CachedRepoSpec {
  repo: string;
  snapshots: SnapshotSpec[];
  /** Branch or tag → commit; default: main → the last snapshot. */
  refs?: Record<string, string>;
  /** Copies instead of symlinks, as huggingface_hub makes where links are impossible (the blob is moved, not kept). */
  copies?: boolean;
}

export function gitSha1(bytes: Buffer): string {
  return createHash("sha1").update(`blob ${bytes.length}\0`).update(bytes).digest("hex");
}

export function sha256Hex(bytes: Buffer): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** A commit hash made from a label: 40 hex digits, different per label. */
export function fakeCommit(label: string): string {
  return createHash("sha1").update(`commit ${label}`).digest("hex");
}

export class FakeHfCache {
  /** For HF_HOME. */
  readonly home: string;
  /** $HF_HOME/hub, what hfCacheDir() finds. */
  readonly cache: string;

  constructor(home = mkdtempSync(join(tmpdir(), "hf-home-"))) {
    this.home = home;
    this.cache = join(home, "hub");
    mkdirSync(this.cache, { recursive: true });
  }

  /** The environment that points the library at this cache (and at no other). */
  env(): Record<string, string | undefined> {
    return { HF_HOME: this.home, HF_HUB_CACHE: undefined, HUGGINGFACE_HUB_CACHE: undefined, HF_HUB_OFFLINE: undefined };
  }

  folder(repo: string): string {
    return join(this.cache, `models--${repo.split("/").join("--")}`);
  }

  add(spec: CachedRepoSpec): void {
    const folder = this.folder(spec.repo);
    for (const snap of spec.snapshots) {
      const files = snap.files ?? readdirSync(snap.from).filter((n) => statSync(join(snap.from, n)).isFile());
      for (const file of files) {
        const bytes = readFileSync(join(snap.from, file));
        const blob = join(folder, "blobs", LFS_FILE.test(file) ? sha256Hex(bytes) : gitSha1(bytes));
        const link = join(folder, "snapshots", snap.commit, file);
        mkdirSync(dirname(link), { recursive: true });
        if (spec.copies) {
          writeFileSync(link, bytes);
        } else {
          mkdirSync(dirname(blob), { recursive: true });
          writeFileSync(blob, bytes);
          symlinkSync(relative(dirname(link), blob), link);
        }
      }
      for (const file of snap.noExist ?? []) {
        const marker = join(folder, ".no_exist", snap.commit, file);
        mkdirSync(dirname(marker), { recursive: true });
        writeFileSync(marker, "");
      }
    }
    const refs = spec.refs ?? { main: spec.snapshots[spec.snapshots.length - 1].commit };
    for (const [ref, commit] of Object.entries(refs)) {
      const path = join(folder, "refs", ref);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, commit);
    }
  }

  /**
   * The usual history: an older snapshot (of `older`'s files) and the current one (of `current`'s), which
   * refs/main names. Returns both commits.
   */
  addWithHistory(repo: string, current: string, older: string, options: { copies?: boolean; noExist?: string[] } = {}): { current: string; older: string } {
    const commits = { older: fakeCommit(`${repo} older`), current: fakeCommit(`${repo} current`) };
    this.add({
      repo,
      copies: options.copies,
      snapshots: [
        { commit: commits.older, from: older, noExist: options.noExist },
        { commit: commits.current, from: current, noExist: options.noExist },
      ],
    });
    return commits;
  }

  /** The blob a snapshot's file links to. */
  blobOf(repo: string, commit: string, file: string): string {
    const bytes = readFileSync(join(this.folder(repo), "snapshots", commit, file));
    return join(this.folder(repo), "blobs", LFS_FILE.test(file) ? sha256Hex(bytes) : gitSha1(bytes));
  }

  /** Flips one byte of a blob in place (its name no longer matches its bytes). */
  corrupt(blob: string): void {
    const bytes = readFileSync(blob);
    bytes[bytes.length >> 1] ^= 0xff;
    writeFileSync(blob, bytes);
  }
}

/** Runs `fn` with these environment variables set (undefined: unset), restoring them afterwards. */
export async function withEnv<T>(vars: Record<string, string | undefined>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  const apply = (values: Record<string, string | undefined>) => {
    for (const [k, v] of Object.entries(values)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
  apply(vars);
  try {
    return await fn();
  } finally {
    apply(saved);
  }
}
